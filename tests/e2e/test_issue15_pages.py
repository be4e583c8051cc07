"""The pages issue 15 added or changed, in a real browser at a laptop's and a phone's width."""

import pytest

from automations.links import profile_url
from dataio.services import import_job_create
from tests.e2e.conftest import has_no_sideways_scroll, log_in, screenshot
from tests.factories import CustomerFactory, NewsletterFactory, ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_a_customer_saves_once_through_their_link_and_the_used_link_offers_a_new_one(request, width):
    page = request.getfixturevalue("page" if width == "laptop" else "phone_page")
    ProductFactory(name="Espresso")
    customer = CustomerFactory(preferred_name="Ann", email="ann@example.com")
    path = _path(profile_url(customer_id=customer.pk))
    page.goto(path)
    screenshot(page, f"i15-profile-{width}")
    assert has_no_sideways_scroll(page)
    page.fill("input[name=preferred_name]", "Annie")
    page.click("button[type=submit]")
    page.wait_for_url("**/profile/saved/")
    screenshot(page, f"i15-profile-saved-{width}")
    page.goto(path)
    assert "This link has been used" in page.content()
    screenshot(page, f"i15-profile-used-{width}")
    customer.refresh_from_db()
    assert customer.preferred_name == "Annie"


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_the_password_reset_pages(request, width, staff):
    page = request.getfixturevalue("page" if width == "laptop" else "phone_page")
    page.goto("/login/")
    page.click("text=Forgotten your password?")
    screenshot(page, f"i15-password-reset-{width}")
    page.fill("input[name=email]", staff.email)
    page.click("button[type=submit]")
    page.wait_for_url("**/password-reset/sent/")
    screenshot(page, f"i15-password-reset-sent-{width}")
    assert has_no_sideways_scroll(page)


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_the_owner_sees_the_newsletter_image_warning_and_the_import_asks_the_date_order(request, width, owner):
    page = request.getfixturevalue("page" if width == "laptop" else "phone_page")
    newsletter = NewsletterFactory(body="Our cake: ![cake](https://example.com/cake.png)")
    job = import_job_create(
        uploaded_by=owner, file_name="sheet.csv", raw=b"First Name,Email,Birthday\nAnn,ann@example.com,04/03/1990\n"
    )
    log_in(page, owner)
    page.goto(f"/community/newsletters/{newsletter.pk}/")
    assert page.locator("[data-testid=images-dropped]").is_visible()
    screenshot(page, f"i15-newsletter-images-{width}")
    page.goto(f"/data/import/{job.pk}/")
    assert page.locator("[data-testid=date-order-ask]").is_visible()
    screenshot(page, f"i15-import-date-order-{width}")
    page.goto("/settings/shop/")
    screenshot(page, f"i15-shop-settings-{width}")
    assert has_no_sideways_scroll(page)
