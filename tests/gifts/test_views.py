"""The counter redeem page and the gifts panel on the friend card."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.registry import card_panels
from gifts.models import GiftCode
from tests.factories import CustomerFactory, GiftCodeFactory, ProductFactory, StaffFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _today() -> date:
    return timezone.localdate()


# --- permissions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "gifts:redeem", []),
        ("post", "gifts:redeem", []),
        ("get", "gifts:customer", ["C"]),
        ("get", "gifts:issue", ["C"]),
        ("post", "gifts:issue", ["C"]),
        ("post", "gifts:card_redeem", ["C", "G"]),
    ],
)
def test_every_gift_page_sends_an_anonymous_visitor_to_log_in_and_changes_nothing(client, method, name, args):
    gift = GiftCodeFactory()
    args = [gift.customer_id if a == "C" else gift.pk for a in args]
    response = getattr(client, method)(
        reverse(name, args=args), {"code": gift.code, "gift-kind": "percent", "gift-value": "5", "gift-valid_days": "3"}
    )
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    gift.refresh_from_db()
    assert gift.redeemed_at is None
    assert GiftCode.objects.count() == 1


def test_staff_see_the_redeem_link_in_the_nav(staff_client):
    response = staff_client.get(reverse("gifts:redeem"))
    assert response.status_code == 200
    assert b"Redeem a gift" in response.content
    assert reverse("gifts:redeem").encode() in response.content


# --- the counter --------------------------------------------------------------


def test_typing_a_code_previews_whose_it_is_and_what_it_is_worth(staff_client):
    gift = GiftCodeFactory(
        customer__first_name="Amara", customer__last_name="Okafor", kind="amount", value=Decimal("5")
    )
    response = staff_client.get(
        reverse("gifts:redeem"), {"code": gift.code.lower()}, HTTP_HX_TARGET="redeem-preview", **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Amara Okafor" in html and "£5 off" in html and gift.display_code in html
    assert "<html" not in html  # just the fragment
    gift.refresh_from_db()
    assert gift.redeemed_at is None  # a preview never redeems


def test_the_check_button_without_javascript_shows_the_preview_on_the_full_page(staff_client):
    gift = GiftCodeFactory(customer__first_name="Amara")
    response = staff_client.get(reverse("gifts:redeem"), {"code": gift.display_code})
    assert response.status_code == 200
    assert "<html" in response.content.decode() and "Amara" in response.content.decode()


def test_previewing_an_expired_code_says_so(staff_client):
    gift = GiftCodeFactory(expires_on=_today() - timedelta(days=1))
    response = staff_client.get(reverse("gifts:redeem"), {"code": gift.code}, HTTP_HX_TARGET="redeem-preview", **HTMX)
    assert "has expired" in response.content.decode()


def test_redeeming_at_the_counter_with_htmx_shows_a_confirmation_and_logs_a_touchpoint(staff_client, staff):
    gift = GiftCodeFactory(customer__first_name="Amara", customer__last_name="Okafor")
    response = staff_client.post(reverse("gifts:redeem"), {"code": gift.display_code.lower()}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "redeem-confirmation" in html and "Amara Okafor" in html and "10% off" in html
    gift.refresh_from_db()
    assert gift.redeemed_by == staff
    assert Touchpoint.objects.get().kind == Touchpoint.Kind.GIFT


def test_redeeming_without_javascript_redirects_back_with_a_message(staff_client):
    gift = GiftCodeFactory(customer__first_name="Amara", customer__last_name="Okafor")
    response = staff_client.post(reverse("gifts:redeem"), {"code": gift.code}, follow=True)
    assert response.redirect_chain == [(reverse("gifts:redeem"), 302)]
    assert f"Redeemed {gift.display_code}: 10% off for Amara Okafor." in response.content.decode()
    gift.refresh_from_db()
    assert gift.redeemed_at is not None


@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize(
    ("setup", "typed", "message"),
    [
        ("expired", None, "has expired"),
        ("redeemed", None, "already redeemed"),
        ("unknown", "ZZZZ-ZZZZ", "There is no gift code ZZZZ-ZZZZ"),
        ("any", "ABC", "A gift code has 8 characters; you typed 3."),
        ("any", "", "Type or paste a gift code."),
        ("any", "O0O0O0O0", "never contain 0, O, 1 or I"),
    ],
)
def test_a_code_that_cannot_be_redeemed_gets_its_message_and_changes_nothing(staff_client, htmx, setup, typed, message):
    other = StaffFactory()
    earlier = timezone.now() - timedelta(days=2)
    gift = GiftCodeFactory(
        code="ABCDEFGH",
        expires_on=_today() - timedelta(days=1) if setup == "expired" else _today() + timedelta(days=5),
        redeemed_at=earlier if setup == "redeemed" else None,
        redeemed_by=other if setup == "redeemed" else None,
    )
    before = (gift.redeemed_at, gift.redeemed_by_id)
    response = staff_client.post(
        reverse("gifts:redeem"), {"code": gift.code if typed is None else typed}, **(HTMX if htmx else {})
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    gift.refresh_from_db()
    assert (gift.redeemed_at, gift.redeemed_by_id) == before
    assert not Touchpoint.objects.exists()


def test_the_redeem_page_never_redeems_on_get(staff_client):
    gift = GiftCodeFactory()
    staff_client.get(reverse("gifts:redeem"), {"code": gift.code})
    gift.refresh_from_db()
    assert gift.redeemed_at is None


# --- the friend-card panel ------------------------------------------------------


def test_the_card_panel_lists_active_expired_and_redeemed_codes_in_a_fixed_number_of_queries(
    rf, staff, django_assert_max_num_queries
):
    from django.template.loader import render_to_string

    from crm.models import ShopSettings

    customer = CustomerFactory()
    for _ in range(2):
        GiftCodeFactory(customer=customer)
    GiftCodeFactory(customer=customer, expires_on=_today() - timedelta(days=3))
    GiftCodeFactory(customer=customer, redeemed_at=timezone.now(), redeemed_by=staff)
    GiftCodeFactory(customer=customer, kind="product", value=None, product=ProductFactory(name="Flat white"))
    request = rf.get("/customers/1/")
    request.user, request.shop = staff, ShopSettings.load()

    def render_panel() -> str:
        [panel] = [p for p in card_panels() if p.name == "gifts"]
        return render_to_string(panel.template, {"ctx": panel.context(request, customer)}, request=request)

    with django_assert_max_num_queries(2):  # the codes (and the owner check); the form loads when opened
        html = render_panel()
    assert 'name="gift-kind"' not in html and "data-hx-get" in html
    assert html.count("btn-outline-success") == 3  # a redeem button per active code
    assert "a free Flat white" in html and "expired" in html and "redeemed" in html
    # Twenty more codes: still the same number of queries.
    for _ in range(20):
        GiftCodeFactory(customer=customer, redeemed_at=timezone.now(), redeemed_by=staff)
    with django_assert_max_num_queries(2):
        render_panel()


def test_opening_issue_a_gift_on_the_card_loads_the_form_which_returns_to_the_card(staff_client):
    customer = CustomerFactory()
    ProductFactory(name="Flat white")
    card_url = reverse("customers:detail", args=[customer.pk])
    card = staff_client.get(card_url).content.decode()
    form_url = reverse("gifts:issue", args=[customer.pk]) + "?next=" + card_url
    assert f'data-hx-get="{form_url}"' in card and 'name="gift-kind"' not in card

    form = staff_client.get(form_url, HTTP_HX_REQUEST="true")

    html = form.content.decode()
    assert form.status_code == 200 and "<html" not in html
    assert 'name="gift-kind"' in html and ">Flat white</option>" in html
    assert f'name="next" value="{card_url}"' in html
    assert GiftCode.objects.count() == 0


def test_the_issue_form_without_javascript_is_on_the_customers_gifts_page(staff_client):
    customer = CustomerFactory()

    response = staff_client.get(reverse("gifts:issue", args=[customer.pk]))

    assert response.status_code == 302 and response.url == reverse("gifts:customer", args=[customer.pk])
    page = staff_client.get(response.url).content.decode()
    assert 'name="gift-kind"' in page


def test_issuing_a_gift_from_the_card_with_htmx_returns_the_panel_with_the_new_code(staff_client, staff):
    customer = CustomerFactory()
    response = staff_client.post(
        reverse("gifts:issue", args=[customer.pk]),
        {"gift-kind": "amount", "gift-value": "7.50", "gift-valid_days": "14"},
        **HTMX,
    )
    assert response.status_code == 200
    gift = GiftCode.objects.get(customer=customer)
    assert (gift.kind, gift.value, gift.source, gift.issued_by) == ("amount", Decimal("7.50"), "manual", staff)
    assert gift.expires_on == _today() + timedelta(days=14)
    html = response.content.decode()
    assert f"Issued {gift.display_code}: £7.50 off" in html
    assert f'id="gift-panel-{customer.pk}"' in html


def test_issuing_with_a_last_day_uses_that_day(staff_client):
    customer = CustomerFactory()
    last_day = _today() + timedelta(days=100)
    staff_client.post(
        reverse("gifts:issue", args=[customer.pk]),
        {"gift-kind": "percent", "gift-value": "15", "gift-valid_days": "30", "gift-expires_on": last_day.isoformat()},
    )
    assert GiftCode.objects.get().expires_on == last_day


def test_issuing_a_free_product_without_javascript_redirects_back_to_the_card(staff_client):
    customer = CustomerFactory()
    coffee = ProductFactory(name="Flat white")
    response = staff_client.post(
        reverse("gifts:issue", args=[customer.pk]),
        {
            "gift-kind": "product",
            "gift-product": coffee.pk,
            "gift-valid_days": "30",
            "next": f"/customers/{customer.pk}/",
        },
    )
    assert response.status_code == 302 and response.url == f"/customers/{customer.pk}/"
    assert GiftCode.objects.get().product == coffee


def test_a_next_link_to_another_site_is_ignored(staff_client):
    customer = CustomerFactory()
    response = staff_client.post(
        reverse("gifts:issue", args=[customer.pk]),
        {"gift-kind": "percent", "gift-value": "5", "gift-valid_days": "3", "next": "https://evil.example/"},
    )
    assert response.url == reverse("gifts:customer", args=[customer.pk])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"gift-kind": "percent", "gift-valid_days": "30"}, "Give the percentage or amount off."),
        ({"gift-kind": "percent", "gift-value": "150", "gift-valid_days": "30"}, "at most 100"),
        ({"gift-kind": "amount", "gift-value": "-3", "gift-valid_days": "30"}, "greater than or equal to 0.01"),
        ({"gift-kind": "amount", "gift-value": "abc", "gift-valid_days": "30"}, "Enter a number."),
        ({"gift-kind": "product", "gift-valid_days": "30"}, "Choose the product they get for free."),
        ({"gift-kind": "percent", "gift-value": "5"}, "Say for how many days it is valid"),
        ({"gift-kind": "percent", "gift-value": "5", "gift-expires_on": "2001-01-01"}, "cannot be in the past"),
        ({"gift-kind": "percent", "gift-value": "5", "gift-expires_on": "2027-02-30"}, "Enter a valid date."),
        ({"gift-kind": "fortune", "gift-value": "5", "gift-valid_days": "3"}, "Select a valid choice."),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_input_when_issuing_gets_a_clear_message_and_issues_nothing(staff_client, data, message, htmx):
    customer = CustomerFactory()
    response = staff_client.post(reverse("gifts:issue", args=[customer.pk]), data, **(HTMX if htmx else {}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not GiftCode.objects.exists()


def test_issuing_for_a_customer_that_does_not_exist_is_a_404(staff_client):
    response = staff_client.post(
        reverse("gifts:issue", args=[999999]), {"gift-kind": "percent", "gift-value": "5", "gift-valid_days": "3"}
    )
    assert response.status_code == 404
    assert not GiftCode.objects.exists()


def test_the_redeem_button_on_the_card_redeems_that_code(staff_client, staff):
    gift = GiftCodeFactory()
    response = staff_client.post(reverse("gifts:card_redeem", args=[gift.customer_id, gift.pk]), **HTMX)
    assert response.status_code == 200
    assert f"Redeemed {gift.display_code}" in response.content.decode()
    gift.refresh_from_db()
    assert gift.redeemed_by == staff
    assert Touchpoint.objects.filter(customer=gift.customer, kind="gift").count() == 1


def test_a_forged_card_redeem_link_for_another_customers_code_is_a_404_and_changes_nothing(staff_client):
    gift = GiftCodeFactory()
    stranger = CustomerFactory()
    response = staff_client.post(reverse("gifts:card_redeem", args=[stranger.pk, gift.pk]))
    assert response.status_code == 404
    gift.refresh_from_db()
    assert gift.redeemed_at is None


def test_pressing_redeem_twice_on_the_card_refuses_the_second_with_a_message(staff_client):
    gift = GiftCodeFactory()
    url = reverse("gifts:card_redeem", args=[gift.customer_id, gift.pk])
    staff_client.post(url, **HTMX)
    response = staff_client.post(url, **HTMX)
    assert response.status_code == 400
    assert "already redeemed" in response.content.decode()
    assert Touchpoint.objects.count() == 1


def test_the_customer_gifts_page_shows_the_panel(staff_client):
    gift = GiftCodeFactory(customer__first_name="Amara")
    response = staff_client.get(reverse("gifts:customer", args=[gift.customer_id]))
    assert response.status_code == 200
    assert "Gifts for Amara" in response.content.decode() and gift.display_code in response.content.decode()


def test_a_half_typed_code_shows_progress_not_an_error_in_the_preview(staff_client):
    response = staff_client.get(reverse("gifts:redeem"), {"code": "abc"}, HTTP_HX_TARGET="redeem-preview", **HTMX)
    html = response.content.decode()
    assert "3 of 8 characters" in html and "bg-danger" not in html


# --- on the friend card ----------------------------------------------------------


def test_issued_codes_appear_on_the_timeline_and_the_card_queries_stay_flat(
    staff_client, staff, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    customer = CustomerFactory()
    url = reverse("customers:detail", args=[customer.pk])
    GiftCodeFactory(customer=customer, source="birthday", kind="percent", value=Decimal("15"))
    with CaptureQueriesContext(connection) as one:
        response = staff_client.get(url)
    html = response.content.decode()
    assert "Gift code issued · 15% off" in html and "Birthday automation" in html
    assert f'id="gift-panel-{customer.pk}"' in html
    for _ in range(30):
        GiftCodeFactory(customer=customer, issued_by=staff, redeemed_at=timezone.now(), redeemed_by=staff)
    with django_assert_max_num_queries(len(one)):
        staff_client.get(url)


# --- admin ---------------------------------------------------------------------


def test_the_admin_finds_a_code_typed_with_a_dash_and_filters_by_redeemed(admin_client):
    wanted = GiftCodeFactory(code="ABCDEFGH", customer__first_name="Amara")
    other = GiftCodeFactory(code="ZZZZZZZZ", redeemed_at=timezone.now())
    url = reverse("admin:gifts_giftcode_changelist")
    response = admin_client.get(url, {"q": "abcd-efgh"})
    assert response.status_code == 200
    assert "ABCDEFGH" in response.content.decode() and "ZZZZZZZZ" not in response.content.decode()
    response = admin_client.get(url, {"q": "Amara"})
    assert "ABCDEFGH" in response.content.decode()
    response = admin_client.get(url, {"redeemed": "yes"})
    assert other.code in response.content.decode() and wanted.code not in response.content.decode()
