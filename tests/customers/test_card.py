"""The friend card's light reads: favourite products and tags as names, a fixed number of queries."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CustomerFactory, GiftCodeFactory, ProductFactory, TagFactory, TouchpointFactory

pytestmark = pytest.mark.django_db


def test_the_card_lists_favourites_and_links_each_tag_to_the_filtered_list(staff_client):
    customer = CustomerFactory()
    customer.favourite_products.add(ProductFactory(name="Rye"), ProductFactory(name="Babka"))
    tag = TagFactory(name="regular-at-8")
    customer.tags.add(tag)

    html = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert html.index(">Babka</span>") < html.index(">Rye</span>")  # A-Z
    assert f'href="{reverse("customers:list")}?tag={tag.pk}">regular-at-8</a>' in html


def test_the_card_runs_the_same_queries_for_a_new_customer_and_a_busy_one(staff_client, django_assert_max_num_queries):
    bare = CustomerFactory()
    TouchpointFactory(customer=bare)  # with none at all, there are no products to look up
    busy = CustomerFactory()
    busy.favourite_products.add(*(ProductFactory() for _ in range(3)))
    busy.tags.add(*(TagFactory() for _ in range(3)))
    for _ in range(25):
        TouchpointFactory(customer=busy)
    for _ in range(3):
        GiftCodeFactory(customer=busy)
    staff_client.get(reverse("customers:detail", args=[bare.pk]))  # warm-up: the session
    cache.clear()
    with CaptureQueriesContext(connection) as bare_queries:  # nothing in the card's cache
        staff_client.get(reverse("customers:detail", args=[bare.pk]))

    with django_assert_max_num_queries(len(bare_queries)):
        assert staff_client.get(reverse("customers:detail", args=[busy.pk])).status_code == 200
    with CaptureQueriesContext(connection) as cached_bare:  # the timeline and panels from the cache
        staff_client.get(reverse("customers:detail", args=[bare.pk]))
    with django_assert_max_num_queries(len(cached_bare)):
        assert staff_client.get(reverse("customers:detail", args=[busy.pk])).status_code == 200
    assert len(cached_bare) < len(bare_queries)
