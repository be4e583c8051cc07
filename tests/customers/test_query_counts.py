"""Pages run the same number of SQL queries with 1 row and with 50 (nothing per row)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import ImportantDate
from tests.factories import CustomerFactory, FollowUpFactory, ProductFactory, TagFactory, TouchpointFactory

pytestmark = pytest.mark.django_db


def _queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx)


def _rich_customer(n, owner, **fields):
    customer = CustomerFactory(
        first_name=f"Sam{n:03d}",
        owner=owner,
        birthday_day=timezone.localdate().day,
        birthday_month=timezone.localdate().month,
        **fields,
    )
    customer.tags.add(TagFactory(name=f"tag {n % 7}"))
    customer.favourite_products.add(ProductFactory(name=f"Product {n % 5}"))
    return customer


def _same_count_for_1_and_50(client, make_rows, url, django_assert_max_num_queries, params=None):
    make_rows(1)
    with_one = _queries(client, url, params)
    make_rows(49)
    with django_assert_max_num_queries(with_one):
        client.get(url, params or {})


def test_the_customer_list_runs_the_same_queries_for_1_and_50_customers(
    staff_client, staff, django_assert_max_num_queries
):
    counter = iter(range(1000))

    def make(n):
        for _ in range(n):
            _rich_customer(next(counter), staff)

    _same_count_for_1_and_50(staff_client, make, reverse("customers:list"), django_assert_max_num_queries)


def test_search_results_run_the_same_queries_for_1_and_50_matches(staff_client, staff, django_assert_max_num_queries):
    counter = iter(range(1000))

    def make(n):
        for _ in range(n):
            _rich_customer(next(counter), staff)

    _same_count_for_1_and_50(
        staff_client, make, reverse("customers:search"), django_assert_max_num_queries, {"q": "sam"}
    )


def test_the_search_dropdown_runs_the_same_queries_for_1_and_50_matches(client, staff, django_assert_max_num_queries):
    client.force_login(staff)
    counter = iter(range(1000))

    def make(n):
        for _ in range(n):
            _rich_customer(next(counter), staff)

    make(1)
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("customers:search"), {"q": "sam", "dropdown": "1"}, HTTP_HX_REQUEST="true")
    make(49)
    with django_assert_max_num_queries(len(ctx)):
        client.get(reverse("customers:search"), {"q": "sam", "dropdown": "1"}, HTTP_HX_REQUEST="true")


def test_the_friend_card_runs_the_same_queries_for_1_and_50_of_everything(
    staff_client, staff, django_assert_max_num_queries
):
    customer = CustomerFactory(owner=staff, referred_by=CustomerFactory())
    url = reverse("customers:detail", args=[customer.pk])
    now = timezone.now()
    counter = iter(range(1000))

    def make(n):
        for _ in range(n):
            i = next(counter)
            touchpoint = TouchpointFactory(
                customer=customer, kind="purchase", amount=5, logged_by=staff, happened_at=now - timedelta(hours=i)
            )
            touchpoint.products.add(ProductFactory(name=f"Product {i % 5}"))
            customer.tags.add(TagFactory(name=f"tag {i}"))
            customer.favourite_products.add(ProductFactory(name=f"Fav {i}"))
            ImportantDate.objects.create(customer=customer, label=f"date {i}", date_day=1 + i % 28, date_month=3)
            FollowUpFactory(customer=customer, assignee=staff)

    _same_count_for_1_and_50(staff_client, make, url, django_assert_max_num_queries)


def test_my_day_runs_the_same_queries_for_1_and_50_follow_ups_and_birthdays(
    staff_client, staff, django_assert_max_num_queries
):
    counter = iter(range(1000))

    def make(n):
        for _ in range(n):
            i = next(counter)
            customer = _rich_customer(i, staff)
            FollowUpFactory(customer=customer, assignee=staff, due_date=timezone.localdate() - timedelta(days=i % 3))
            ImportantDate.objects.create(
                customer=customer,
                label="Anniversary",
                date_day=timezone.localdate().day,
                date_month=timezone.localdate().month,
            )

    _same_count_for_1_and_50(staff_client, make, reverse("customers:my_day"), django_assert_max_num_queries)


@pytest.mark.parametrize("name", ["customers:my_followups", "customers:my_birthdays"])
def test_my_full_follow_up_and_birthday_lists_run_the_same_queries_for_1_and_50(
    name, staff_client, staff, django_assert_max_num_queries
):
    counter = iter(range(1000))

    def make(n):
        for _ in range(n):
            customer = _rich_customer(next(counter), staff)
            FollowUpFactory(customer=customer, assignee=staff, due_date=timezone.localdate() - timedelta(days=1))

    _same_count_for_1_and_50(staff_client, make, reverse(name), django_assert_max_num_queries)


def test_an_older_page_of_the_timeline_runs_the_same_queries_however_long_the_history(
    staff_client, staff, django_assert_max_num_queries
):
    from customers.timeline import TIMELINE_FIRST_PAGE, timeline_page

    customer = CustomerFactory(owner=staff)
    card_url = reverse("customers:detail", args=[customer.pk])
    htmx = {"HTTP_HX_REQUEST": "true"}

    def older_page() -> tuple[dict, dict]:
        cursor = timeline_page(customer=customer, limit=TIMELINE_FIRST_PAGE).older
        return {"before": cursor.param}, htmx

    for n in range(12):
        TouchpointFactory(customer=customer, happened_at=timezone.now() - timedelta(hours=n))
    params, headers = older_page()
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(card_url, params, **headers).status_code == 200
    for n in range(12, 80):
        TouchpointFactory(customer=customer, happened_at=timezone.now() - timedelta(hours=n))
    params, headers = older_page()
    with django_assert_max_num_queries(len(few)):
        assert staff_client.get(card_url, params, **headers).content.decode().count("timeline-entry") == 20


def test_the_gift_issue_form_runs_the_same_queries_for_1_and_50_products(
    staff_client, staff, django_assert_max_num_queries
):
    customer = CustomerFactory()
    url = reverse("gifts:issue", args=[customer.pk])

    def make(n):
        for _ in range(n):
            ProductFactory()

    make(1)
    with CaptureQueriesContext(connection) as ctx:
        staff_client.get(url, HTTP_HX_REQUEST="true")
    make(49)
    with django_assert_max_num_queries(len(ctx)):
        assert staff_client.get(url, HTTP_HX_REQUEST="true").content.decode().count("<option") >= 50
