from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import CharField, DateTimeField, IntegerField
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.expressions import RelatedNames
from crm.prepared import PreparedQuery
from customers.models import Customer, FollowUp
from tests.factories import CustomerFactory, FollowUpFactory, ProductFactory, StaffFactory, TouchpointFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


def _fields(obj, names):
    return {name: getattr(obj, name) for name in names}


def test_a_prepared_query_returns_what_the_queryset_returns_for_each_new_value():
    staff = StaffFactory(first_name="Robin")
    first, second = CustomerFactory(), CustomerFactory()
    for customer in (first, second):
        FollowUpFactory(customer=customer, assignee=staff)
        FollowUpFactory(customer=customer, assignee=None)

    def build(customer_id):
        return FollowUp.objects.filter(customer_id=customer_id).select_related("assignee").order_by("due_date", "pk")

    prepared = PreparedQuery(build, customer_id=IntegerField())
    for customer in (first, second, first):
        expected = list(build(customer.pk))
        got = prepared.fetch(customer_id=customer.pk)
        assert got == expected and len(got) == 2
        assert [_fields(f, ("reason", "due_date", "status", "customer_id")) for f in got] == [
            _fields(f, ("reason", "due_date", "status", "customer_id")) for f in expected]
        # The joined user is built from the same row, and a missing one is None: no query to read either.
        with CaptureQueriesContext(connection) as queries:
            assert [f.assignee for f in got] == [f.assignee for f in expected]
            assert got[0].assignee.first_name == "Robin"
        assert len(queries) == 0
    assert prepared.fetch(customer_id=CustomerFactory().pk) == []


def test_the_sql_is_built_once_and_each_fetch_is_one_query_with_the_new_value():
    customer = CustomerFactory()
    TouchpointFactory(customer=customer)
    prepared = PreparedQuery(lambda customer_id: Touchpoint.objects.filter(customer_id=customer_id),
                             customer_id=IntegerField())
    built = []
    original_build = prepared.build
    prepared.build = lambda **kwargs: built.append(kwargs) or original_build(**kwargs)

    with CaptureQueriesContext(connection) as queries:
        assert len(prepared.fetch(customer_id=customer.pk)) == 1
        assert prepared.fetch(customer_id=customer.pk + 1000) == []
    assert len(built) == 1
    assert len(queries) == 2 and queries[0]["sql"].replace(str(customer.pk), "?") == queries[1]["sql"].replace(
        str(customer.pk + 1000), "?")


def test_shape_arguments_such_as_a_limit_get_their_own_sql():
    customer = CustomerFactory()
    for _ in range(5):
        TouchpointFactory(customer=customer)
    prepared = PreparedQuery(
        lambda customer_id, limit: Touchpoint.objects.filter(customer_id=customer_id).order_by("-happened_at", "-pk")
        [:limit],
        customer_id=IntegerField(),
    )
    newest = list(Touchpoint.objects.filter(customer=customer).order_by("-happened_at", "-pk"))
    assert prepared.fetch(customer_id=customer.pk, limit=2) == newest[:2]
    assert prepared.fetch(customer_id=customer.pk, limit=4) == newest[:4]
    assert prepared.fetch(customer_id=customer.pk, limit=2) == newest[:2]


def test_datetime_values_are_bound_as_the_database_stores_them():
    # SQLite keeps datetimes as text in UTC: a value must be converted as the ORM would.
    customer = CustomerFactory()
    now = timezone.now()
    old = TouchpointFactory(customer=customer, happened_at=now - timedelta(days=10))
    recent = TouchpointFactory(customer=customer, happened_at=now - timedelta(hours=1))
    prepared = PreparedQuery(
        lambda customer_id, since: Touchpoint.objects.filter(customer_id=customer_id, happened_at__gte=since)
        .order_by("happened_at"),
        customer_id=IntegerField(), since=DateTimeField(),
    )
    assert prepared.fetch(customer_id=customer.pk, since=now - timedelta(days=2)) == [recent]
    assert prepared.fetch(customer_id=customer.pk, since=now - timedelta(days=30)) == [old, recent]
    fetched = prepared.fetch(customer_id=customer.pk, since=now - timedelta(days=2))[0]
    assert fetched.happened_at == recent.happened_at and timezone.is_aware(fetched.happened_at)


def test_annotations_deferred_fields_and_values_lists_read_like_the_queryset():
    customer = CustomerFactory(first_name="Ada", notes="Likes <b>jazz</b>")
    customer.favourite_products.set([ProductFactory(name="Brioche"), ProductFactory(name="Affogato")])
    annotated = PreparedQuery(
        lambda pk: Customer.objects.filter(pk=pk).only("first_name").annotate(names=RelatedNames("favourite_products")),
        pk=IntegerField(),
    )
    [row] = annotated.fetch(pk=customer.pk)
    assert row.names == ["Affogato", "Brioche"] and row.first_name == "Ada"
    assert row.get_deferred_fields() >= {"notes"}
    assert row.notes == "Likes <b>jazz</b>"  # a deferred field still loads when asked for

    flat = PreparedQuery(lambda pk: Customer.objects.filter(pk=pk).values_list("first_name", flat=True), pk=IntegerField())
    pairs = PreparedQuery(lambda pk: Customer.objects.filter(pk=pk).values_list("pk", "first_name"), pk=IntegerField())
    assert flat.fetch(pk=customer.pk) == ["Ada"]
    assert pairs.fetch(pk=customer.pk) == [(customer.pk, "Ada")]


def test_row_kinds_it_cannot_build_and_prefetching_are_refused():
    for build in (lambda: Customer.objects.values("pk"), lambda: Customer.objects.prefetch_related("tags")):
        with pytest.raises(TypeError):
            PreparedQuery(build).fetch()


def test_a_query_that_can_hold_no_rows_returns_none_without_sql():
    CustomerFactory()
    prepared = PreparedQuery(lambda start, stop: Customer.objects.order_by("pk")[start:stop])
    with CaptureQueriesContext(connection) as queries:
        assert prepared.fetch(start=0, stop=0) == []
    assert len(queries) == 0
    assert len(prepared.fetch(start=0, stop=5)) == 1


def test_explain_shows_the_plan_of_the_sql_the_values_run():
    customer = CustomerFactory()
    prepared = PreparedQuery(lambda pk: Customer.objects.filter(pk=pk), pk=IntegerField())
    plan = prepared.explain(pk=customer.pk)  # PostgreSQL: "Index Scan using … on customers_customer"
    assert "customers_customer" in plan and ("Index Scan" in plan or "SEARCH" in plan)
    assert prepared.fetch(pk=customer.pk) == [customer]


@pytest.mark.django_db(transaction=True)  # outside the test's own transaction
def test_locking_rows_needs_a_transaction_every_time_not_only_the_first():
    customer = CustomerFactory()
    prepared = PreparedQuery(lambda pk: Customer.objects.select_for_update().filter(pk=pk), pk=IntegerField())
    with transaction.atomic():
        assert prepared.fetch(pk=customer.pk) == [customer]
    with pytest.raises(TransactionManagementError):
        prepared.fetch(pk=customer.pk)


def test_get_returns_the_one_row_or_raises_as_queryset_get_does():
    first, second = CustomerFactory(first_name="Ada"), CustomerFactory(first_name="Ada")
    by_pk = PreparedQuery(lambda pk: Customer.objects.filter(pk=pk), pk=IntegerField())
    by_name = PreparedQuery(lambda name: Customer.objects.filter(first_name=name).values_list("pk", flat=True),
                            name=CharField())
    assert by_pk.get(pk=first.pk) == first
    with pytest.raises(Customer.DoesNotExist):
        by_pk.get(pk=second.pk + 1000)
    with pytest.raises(Customer.MultipleObjectsReturned):
        by_name.get(name="Ada")
