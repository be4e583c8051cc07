"""The friend card's light reads: favourite products and tags as names, a fixed number of queries."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automations.models import EmailOptOut, ProfileLinkEvent
from tests.factories import (
    CustomerFactory,
    FollowUpFactory,
    GiftCodeFactory,
    ImportantDateFactory,
    InvitationFactory,
    OutboundMessageFactory,
    ProductFactory,
    TagFactory,
    TouchpointFactory,
)
from tests.queries import executed_sql

pytestmark = pytest.mark.django_db


def test_the_card_lists_favourites_and_links_each_tag_to_the_filtered_list(staff_client):
    customer = CustomerFactory()
    customer.favourite_products.add(ProductFactory(name="Rye"), ProductFactory(name="Babka"))
    tag = TagFactory(name="regular-at-8")
    customer.tags.add(tag)

    html = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert html.index(">Babka</span>") < html.index(">Rye</span>")  # A-Z
    assert f'href="{reverse("customers:list")}?tag={tag.pk}">regular-at-8</a>' in html


def _with_every_kind_of_card_row(customer, n: int):
    """n of each kind of row the card reads (customers.registry's card rows), and n touchpoints."""
    customer.favourite_products.add(*(ProductFactory() for _ in range(n)))
    customer.tags.add(*(TagFactory() for _ in range(n)))
    for _ in range(n):
        TouchpointFactory(customer=customer)
        GiftCodeFactory(customer=customer)
        FollowUpFactory(customer=customer)
        ImportantDateFactory(customer=customer)
        OutboundMessageFactory(customer=customer)
        InvitationFactory(customer=customer)
        ProfileLinkEvent.objects.create(customer=customer, kind=ProfileLinkEvent.Kind.SAVED)
    EmailOptOut.objects.create(customer=customer, via=EmailOptOut.Via.LINK)
    return customer


def _first_visit(client, customer) -> CaptureQueriesContext:
    cache.clear()  # nothing of the card cached
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 200
    return queries


def _tables_read(queries) -> set[str]:
    """The table each statement reads rows of: its first selected column's, or the one the hand-written
    queries alias (the EXISTS in the customer's row do not count)."""
    return {
        match[1]
        for sql in executed_sql(queries)
        if (match := re.search(r'(?:^|AS )SELECT ("\w+")\.', sql) or re.search(r' FROM ("\w+") [a-z] ', sql))
    }


def test_a_first_visit_runs_the_same_queries_for_one_row_of_each_kind_and_many(staff_client):
    one, many = _with_every_kind_of_card_row(CustomerFactory(), 1), _with_every_kind_of_card_row(CustomerFactory(), 8)
    staff_client.get(reverse("customers:detail", args=[one.pk]))  # warm-up: the session

    assert len(_first_visit(staff_client, many)) == len(_first_visit(staff_client, one))


def test_a_first_visit_skips_the_reads_of_what_the_customer_has_none_of(staff_client):
    full, new = _with_every_kind_of_card_row(CustomerFactory(), 1), CustomerFactory()
    staff_client.get(reverse("customers:detail", args=[new.pk]))  # warm-up: the session

    skipped = _tables_read(_first_visit(staff_client, full)) - _tables_read(_first_visit(staff_client, new))

    # Each registered kind of card row is read only for a customer who has some.
    assert skipped == {
        '"gifts_giftcode"',
        '"customers_followup"',
        '"customers_importantdate"',
        '"automations_outboundmessage"',
        '"automations_emailoptout"',
        '"community_invitation"',
        '"automations_profilelinkevent"',
    }


def test_the_card_shows_each_kind_of_row_it_may_skip_when_the_customer_has_one(staff_client):
    customer = CustomerFactory()
    FollowUpFactory(customer=customer, reason="Ring about the cake order")
    ImportantDateFactory(customer=customer, label="Wedding anniversary")
    gift = GiftCodeFactory(customer=customer)
    OutboundMessageFactory(customer=customer, subject="Thank you for coming in")

    html = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    for text in ("Ring about the cake order", "Wedding anniversary", gift.display_code, "Thank you for coming in"):
        assert text in html


def test_the_cached_card_runs_fewer_queries_and_as_many_for_a_busy_customer_as_for_a_new_one(
    staff_client, django_assert_max_num_queries
):
    new, busy = CustomerFactory(), _with_every_kind_of_card_row(CustomerFactory(), 8)
    first_visit = _first_visit(staff_client, new)
    staff_client.get(reverse("customers:detail", args=[busy.pk]))  # cache the busy card too
    with CaptureQueriesContext(connection) as cached_new:  # the timeline and panels from the cache
        staff_client.get(reverse("customers:detail", args=[new.pk]))

    with django_assert_max_num_queries(len(cached_new)):
        assert staff_client.get(reverse("customers:detail", args=[busy.pk])).status_code == 200
    assert len(cached_new) < len(first_visit)
