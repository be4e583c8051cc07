"""Hostile input in every text field of the customer, touchpoint and follow-up forms, and the search box.

Each value is shown as text (escaped), stored exactly as typed, or refused with a clear
message and nothing changed; no page answers 500.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, FollowUp, ImportantDate
from tests.factories import CustomerFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("h4")</script>'
HOSTILE = {
    "script": SCRIPT,
    "attribute_breakout": '"><img src=x onerror=alert(1)>',
    "single_quote_breakout": "' onmouseover='alert(1)' x='",
    "sql": "Robert'); DROP TABLE customers_customer;--",
    "sql_or": "x' OR '1'='1",
    "very_long": "Ω" * 5000,
    "zero_width": "Zo\u200be\u200d\ufeffy",
    "rtl": "\u202eevil\u202c مرحبا עברית",
    "emoji": "Birthday 🎂👩‍👩‍👧 ✨",
    "null_byte": "nul\x00byte",
}
# Raw markup that must never reach the page unescaped.
DANGEROUS_MARKUP = ["<script>alert(", "<img src=x onerror", "onmouseover='alert"]

REFUSAL_MARKERS = ("is-invalid", "invalid-feedback", "errorlist", "alert-danger", "text-danger")


def assert_no_raw_markup(html: str) -> None:
    for raw in DANGEROUS_MARKUP:
        assert raw not in html, f"unescaped markup in the page: {raw!r}"


def assert_refused(response) -> None:
    html = response.content.decode()
    assert response.status_code in (200, 400, 422), response.status_code
    assert any(marker in html for marker in REFUSAL_MARKERS), "refused without a message"


CUSTOMER_TEXT_FIELDS = [
    "first_name",
    "last_name",
    "preferred_name",
    "phone",
    "notes",
    "how_we_met",
    "email",
    "tags",
    "favourite_products",
]


def customer_form(**overrides) -> dict:
    return {"first_name": "Ada", "last_name": "Lovelace", "cadence_days": "", **overrides}


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("field", CUSTOMER_TEXT_FIELDS)
def test_a_hostile_value_in_a_customer_field(staff_client, kind, field):
    value = HOSTILE[kind]
    customer = CustomerFactory(first_name="Before", last_name="Change", notes="", email="before@example.com")
    response = staff_client.post(reverse("customers:update", args=[customer.pk]), customer_form(**{field: value}))
    assert response.status_code < 500
    customer.refresh_from_db()
    if response.status_code == 302:
        if field in ("first_name", "last_name", "preferred_name", "notes", "how_we_met"):
            # Names collapse runs of spaces but must otherwise be stored exactly as typed.
            assert getattr(customer, field) == value, "stored, but not faithfully"
        card = staff_client.get(reverse("customers:detail", args=[customer.pk]))
        assert card.status_code == 200
        assert_no_raw_markup(card.content.decode())
    else:
        assert_refused(response)
        assert customer.first_name == "Before" and customer.notes == ""
        assert_no_raw_markup(response.content.decode())
    if kind == "null_byte":
        assert response.status_code != 302, "a null byte must be refused, not stored"


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_value_when_adding_a_customer(staff_client, kind):
    value = HOSTILE[kind]
    response = staff_client.post(reverse("customers:create"), customer_form(first_name=value, notes=value))
    assert response.status_code < 500
    if response.status_code == 302:
        customer = Customer.objects.get()
        assert customer.notes == value
        assert_no_raw_markup(staff_client.get(response.url).content.decode())
    else:
        assert_refused(response)
        assert not Customer.objects.exists()


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_touchpoint_note(staff_client, kind):
    value = HOSTILE[kind]
    customer = CustomerFactory()
    response = staff_client.post(
        reverse("touchpoints:create", args=[customer.pk]), {"kind": "note", "note": value, "products": value[:40]}
    )
    assert response.status_code < 500
    if response.status_code in (200, 302) and Touchpoint.objects.exists():
        assert Touchpoint.objects.get().note == value
        assert_no_raw_markup(staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode())
    else:
        assert_refused(response)
        assert not Touchpoint.objects.exists()


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_follow_up_reason(staff_client, kind):
    value = HOSTILE[kind]
    customer = CustomerFactory()
    response = staff_client.post(
        reverse("customers:followup_create", args=[customer.pk]),
        {"reason": value, "due_date": timezone.localdate().isoformat()},
    )
    assert response.status_code < 500
    if response.status_code in (200, 302) and FollowUp.objects.exists():
        assert FollowUp.objects.get().reason == value
        assert_no_raw_markup(staff_client.get(reverse("customers:my_day")).content.decode())
        assert_no_raw_markup(staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode())
    else:
        assert_refused(response)
        assert not FollowUp.objects.exists()


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_important_date_label(staff_client, kind):
    value = HOSTILE[kind]
    customer = CustomerFactory()
    response = staff_client.post(
        reverse("customers:date_add", args=[customer.pk]), {"label": value, "day": "14", "month": "6"}
    )
    assert response.status_code < 500
    if ImportantDate.objects.exists():
        assert ImportantDate.objects.get().label == value
    else:
        assert_refused(response)
    assert_no_raw_markup(response.content.decode())


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("dropdown", [False, True])
def test_a_hostile_search(staff_client, kind, dropdown):
    CustomerFactory(first_name=SCRIPT)  # a hostile name already stored must come back escaped
    params = {"q": HOSTILE[kind]}
    headers = {}
    if dropdown:
        params["dropdown"] = "1"
        headers["HTTP_HX_REQUEST"] = "true"
    response = staff_client.get(reverse("customers:search"), params, **headers)
    if kind == "null_byte":
        assert response.status_code == 400 and "null byte" in response.content.decode()
    else:
        assert response.status_code == 200
    assert_no_raw_markup(response.content.decode())
    assert staff_client.get(reverse("customers:list"), {"q": HOSTILE[kind]}).status_code < 500


def test_a_stored_script_in_a_name_is_escaped_in_the_search_results(staff_client):
    CustomerFactory(first_name=SCRIPT, last_name="Smith")
    html = staff_client.get(reverse("customers:search"), {"q": "Smith"}).content.decode()
    assert "&lt;script&gt;" in html and "<script>alert(" not in html
