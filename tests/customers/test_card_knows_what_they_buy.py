"""The card knows what they buy (from purchases), hides empty notes, and shouts only about near birthdays."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import CustomerFactory, ProductFactory, TouchpointFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


def _purchase(customer, *products, days_ago: int) -> Touchpoint:
    touchpoint = TouchpointFactory(
        customer=customer,
        kind=Touchpoint.Kind.PURCHASE,
        amount=Decimal("4.50"),
        happened_at=timezone.now() - timedelta(days=days_ago),
    )
    touchpoint.products.add(*products)
    return touchpoint


def _usually_buys(client, customer) -> str:
    html = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    return html.split('data-testid="usually-buys">')[1].split("</dd>")[0]


def test_usually_buys_lists_what_they_bought_twice_this_year_most_bought_first(staff_client):
    customer = CustomerFactory()
    latte, bun, cake, loaf = (ProductFactory(name=n) for n in ("Oat latte", "Cinnamon bun", "Carrot cake", "Loaf"))
    for days in (3, 10, 40):
        _purchase(customer, latte, days_ago=days)
    _purchase(customer, bun, days_ago=5)
    _purchase(customer, bun, cake, days_ago=60)
    _purchase(customer, cake, days_ago=400)  # over a year ago: does not count
    _purchase(customer, loaf, days_ago=2)  # once: not "usually"
    customer.favourite_products.add(loaf)  # set by hand: shown beside, not mixed in

    shown = _usually_buys(staff_client, customer)

    assert shown.index("Oat latte") < shown.index("Cinnamon bun")
    assert "Carrot cake" not in shown and "Loaf" not in shown


def test_usually_buys_says_so_when_nothing_was_bought_twice(staff_client):
    customer = CustomerFactory()
    _purchase(customer, ProductFactory(name="Scone"), days_ago=3)

    assert "nothing twice in the last year" in _usually_buys(staff_client, customer)


def test_the_list_filters_by_what_customers_usually_buy(staff_client):
    latte = ProductFactory(name="Oat latte")
    regular, once, favourite_only = (CustomerFactory(first_name=n) for n in ("Regula", "Oncey", "Favvy"))
    _purchase(regular, latte, days_ago=3)
    _purchase(regular, latte, days_ago=30)
    _purchase(once, latte, days_ago=3)
    favourite_only.favourite_products.add(latte)

    html = staff_client.get(reverse("customers:list"), {"bought": latte.pk}).content.decode()

    assert "Regula" in html
    assert "Oncey" not in html and "Favvy" not in html


def test_a_note_without_text_is_not_a_timeline_entry_and_cannot_be_logged(staff_client):
    customer = CustomerFactory()
    TouchpointFactory(customer=customer, kind=Touchpoint.Kind.NOTE, note="")
    TouchpointFactory(customer=customer, kind=Touchpoint.Kind.NOTE, note="Moving to Leeds in May")

    html = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    response = staff_client.post(reverse("touchpoints:create", args=[customer.pk]), {"kind": "note", "note": "  "})

    assert html.count("timeline-entry timeline-note") == 1 and "Moving to Leeds" in html
    assert response.status_code == 400
    assert "Write the note first" in response.content.decode()
    assert Touchpoint.objects.filter(customer=customer).count() == 2


@pytest.mark.parametrize(("days_ahead", "badge"), [(0, True), (14, True), (15, False), (302, False)])
def test_a_near_birthday_is_a_badge_and_a_far_one_plain_text(staff_client, days_ahead, badge):
    with time_machine.travel("2026-03-01 12:00Z", tick=False):
        birthday = timezone.localdate() + timedelta(days=days_ahead)
        customer = CustomerFactory(birthday_day=birthday.day, birthday_month=birthday.month, birthday_year=1995)

        html = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert ("badge rounded-pill text-bg-warning birthday-countdown" in html) is badge
    assert ('text-body-secondary small birthday-countdown">(turns' in html) is not badge


def test_the_card_opens_with_the_cursor_in_the_note_field(staff_client):
    customer = CustomerFactory()

    html = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert html.count("autofocus") == 1
    assert 'id="tp-note"' in html.split("autofocus")[0][-400:]


def test_both_product_selects_list_every_product_read_once_and_show_the_chosen_one(staff_client):
    latte, scone = ProductFactory(name="Oat latte"), ProductFactory(name="Scone")
    staff_client.get(reverse("customers:list"))  # the session and the cached count: not what is counted

    with CaptureQueriesContext(connection) as queries:
        html = staff_client.get(reverse("customers:list"), {"bought": scone.pk}).content.decode()

    favourite = html.split('name="product"')[1].split("</select>")[0]
    bought = html.split('name="bought"')[1].split("</select>")[0]
    assert "Any favourite" in favourite and "Usually buys: any" in bought
    assert all(name in favourite and name in bought for name in ("Oat latte", "Scone"))
    assert f'value="{scone.pk}" selected' in bought and '<option value="" selected>Any favourite' in favourite
    assert f'value="{latte.pk}"' in bought
    assert sum('FROM "customers_product"' in q["sql"] for q in queries.captured_queries) <= 2  # the select, the filter
