import pytest
from django.db.models import Count, Q, Sum

from crm.expressions import RelatedNames, Whole
from customers.models import Customer
from tests.factories import CustomerFactory, ProductFactory, TagFactory, TouchpointFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


def test_related_names_hold_each_rows_own_names_a_to_z_or_id_name_pairs():
    zebra, apple, mango = TagFactory(name="zebra"), TagFactory(name="apple"), TagFactory(name="mango <b>")
    first, second, _nobody = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first.tags.set([zebra, apple, mango])
    second.tags.set([mango])

    rows = list(Customer.objects.annotate(
        tag_names=RelatedNames("tags"), tag_pairs=RelatedNames("tags", with_ids=True),
    ).order_by("pk"))

    assert [r.tag_names for r in rows] == [["apple", "mango <b>", "zebra"], ["mango <b>"], []]
    assert rows[0].tag_pairs == [[apple.pk, "apple"], [mango.pk, "mango <b>"], [zebra.pk, "zebra"]]
    assert rows[2].tag_pairs == []


def test_related_names_keep_quotes_and_unicode_and_follow_the_rows_own_relation():
    customer = CustomerFactory()
    customer.favourite_products.set([ProductFactory(name='Café "au lait", \\ large')])
    touchpoint = TouchpointFactory(customer=customer)
    touchpoint.products.set([ProductFactory(name="Sourdough"), ProductFactory(name="Brioche")])

    assert Customer.objects.annotate(names=RelatedNames("favourite_products")).get().names == [
        'Café "au lait", \\ large']
    assert Touchpoint.objects.annotate(names=RelatedNames("products")).get().names == ["Brioche", "Sourdough"]


def test_related_names_work_beside_joins_and_filters_on_the_same_relation():
    regular = TagFactory(name="regular")
    customer = CustomerFactory()
    customer.tags.set([regular, TagFactory(name="dog owner")])

    found = Customer.objects.filter(tags=regular).select_related("owner").annotate(names=RelatedNames("tags"))

    assert [c.names for c in found] == [["dog owner", "regular"]]


def test_whole_aggregates_read_every_matching_row_in_one_row_like_count_and_aggregate():
    for health, cadence in (("warm", 10), ("warm", 30), ("cold", None)):
        CustomerFactory(health=health, cadence_days=cadence)
    for filters in ({}, {"health": "warm"}, {"health": "cooling"}):
        customers = Customer.objects.filter(**filters).annotate(names=RelatedNames("tags")).order_by("last_name")
        assert list(customers.order_by().values_list(Whole(Count("pk")), flat=True)) == [customers.count()]
        expected = customers.aggregate(warm=Count("pk", filter=Q(health="warm")), cadence=Sum("cadence_days"))
        assert list(customers.order_by().values_list(
            Whole(Count("pk", filter=Q(health="warm"))), Whole(Sum("cadence_days")))) == [
            (expected["warm"], expected["cadence"])]
