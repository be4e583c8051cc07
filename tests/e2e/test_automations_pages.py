"""The automations pages in a real browser, at laptop and phone sizes (screenshots in var/screenshots/)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automations.links import unsubscribe_token
from tests.e2e.conftest import has_no_sideways_scroll, log_in, screenshot
from tests.factories import CustomerFactory, OutboundMessageFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outbox_rows():
    sam = CustomerFactory(
        first_name="Samantha",
        last_name="Okonkwo-Fitzgerald",
        preferred_name="Sam",
        email="samantha.okonkwo-fitzgerald@longdomain.example",
    )
    sam.favourite_products.add(ProductFactory(name="Oat flat white"))
    now = timezone.now()
    OutboundMessageFactory(
        customer=sam,
        kind="birthday",
        occasion_key="birthday:2027",
        status="sent",
        sent_at=now - timedelta(days=2),
        subject="Happy birthday soon, Sam!",
    )
    OutboundMessageFactory(
        customer=sam,
        kind="thankyou",
        occasion_key="thankyou:1",
        status="unknown",
        attempts=1,
        handed_over_at=now - timedelta(minutes=5),
        status_reason="May have arrived (handed to the server at 10:42:07, no answer)",
    )
    OutboundMessageFactory(
        customer=sam,
        kind="wemissyou",
        status="planned",
        planned_at=now - timedelta(hours=2),
        status_reason="Already 2 emails this week: waits until Thu 12 Jun 10:00",
    )
    # A message that can be written: resending it during sending hours sends it at once (tasks run inline).
    OutboundMessageFactory(
        kind="wemissyou",
        status="failed",
        attempts=5,
        last_error="451 4.7.1 Greylisted, try later",
        status_reason="Gave up: the mail server did not take it within 24 hours",
    )
    OutboundMessageFactory(kind="loyalty", status="draft", planned_at=now + timedelta(hours=3))
    return sam


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_owner_pages_look_finished_and_fit_the_screen(request, size, owner, outbox_rows):
    page = request.getfixturevalue("page" if size == "laptop" else "phone_page")
    log_in(page, owner)

    page.goto("/automations/")
    assert page.locator("h1").first.inner_text() == "Automations"
    assert page.get_by_text("Staff morning digest").count() >= 1
    assert has_no_sideways_scroll(page)
    screenshot(page, f"automations_settings_{size}")

    page.goto("/automations/templates/birthday/")
    page.fill("textarea[name=body_text]", "Hi {preferred_name}, here is {gift_code} from {shop_nme}!")
    page.wait_for_selector("#preview .alert-danger")
    assert "{shop_nme} is not a placeholder" in page.inner_text("#preview")
    screenshot(page, f"automations_template_error_{size}")
    page.select_option("#preview-customer", str(outbox_rows.pk))
    page.fill("textarea[name=body_text]", "Hi {preferred_name}, here is {gift_code} from {shop_name}!")
    page.wait_for_selector("#preview .email-preview")
    page.wait_for_function("document.querySelector('#preview').innerText.includes('Sam')")
    assert "Hi Sam, here is ABCD-EFGH" in page.inner_text("#preview")
    assert has_no_sideways_scroll(page)
    screenshot(page, f"automations_template_preview_{size}")

    page.goto("/automations/outbox/")
    rows = page.locator(".list-group")
    assert rows.locator("button", has_text="Resend").count() == 1  # the failed one, in one click
    assert page.locator("button", has_text="Resend all failed (1)").count() == 1
    assert "May have arrived (handed to the server at 10:42:07, no answer)" in rows.inner_text()
    assert has_no_sideways_scroll(page)
    screenshot(page, f"automations_outbox_{size}")
    rows.locator("button", has_text="Resend").click()
    page.wait_for_selector(".alert-success")
    assert page.locator(".list-group button", has_text="Resend").count() == 0

    # The one that may have arrived: a separate step, with the warning and a tick box.
    page.get_by_role("link", name="Resend anyway…").click()
    page.wait_for_selector("text=may already be in their inbox")
    assert has_no_sideways_scroll(page)
    screenshot(page, f"automations_resend_unknown_{size}")
    page.check("input[name=confirm]")
    page.click("main button.btn-danger")
    page.wait_for_selector(".alert-success")
    assert page.get_by_role("link", name="Resend anyway…").count() == 0

    page.goto(f"/customers/{outbox_rows.pk}/")
    assert "Birthday greeting email" in page.inner_text("#timeline")
    screenshot(page, f"automations_friend_card_timeline_{size}")


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_staff_approve_a_draft_in_one_click(request, size, staff, outbox_rows):
    page = request.getfixturevalue("page" if size == "laptop" else "phone_page")
    log_in(page, staff)

    page.goto("/automations/review/")
    page.fill("textarea", "Hope the new puppy is settling in!")
    assert has_no_sideways_scroll(page)
    screenshot(page, f"automations_review_{size}")
    page.click("button:has-text('Approve')")
    page.wait_for_selector("text=Your line")
    assert "Planned" in page.inner_text("main")

    assert page.goto("/automations/outbox/").status == 403


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_a_customer_unsubscribes_with_the_button(request, size, outbox_rows):
    page = request.getfixturevalue("page" if size == "laptop" else "phone_page")
    token = unsubscribe_token(recipient_key=f"c:{outbox_rows.pk}")

    page.goto(f"/automations/unsubscribe/{token}/")
    assert has_no_sideways_scroll(page)
    screenshot(page, f"automations_unsubscribe_{size}")
    page.click("button:has-text('Unsubscribe me')")
    page.wait_for_selector("text=You're unsubscribed")
    screenshot(page, f"automations_unsubscribed_{size}")
    outbox_rows.refresh_from_db()
    assert not outbox_rows.email_consent

    assert page.goto(f"/automations/unsubscribe/{token[:-4]}xxxx/").status == 400
    screenshot(page, f"automations_unsubscribe_forged_{size}")
