import pytest
from django.db.models import OuterRef

from crm.expressions import JSONList
from customers.models import Customer
from tests.factories import CustomerFactory, ProductFactory, TagFactory

pytestmark = pytest.mark.django_db


def _with_lists():
    through = Customer.tags.through.objects.filter(customer_id=OuterRef("pk")).order_by("tag__name", "tag_id")
    return Customer.objects.annotate(
        tag_names=JSONList(through, "tag__name"),
        tag_pairs=JSONList(through, "tag_id", "tag__name"),
    ).order_by("pk")


def test_a_json_list_holds_each_customers_own_rows_in_the_subquerys_order():
    zebra, apple, mango = TagFactory(name="zebra"), TagFactory(name="apple"), TagFactory(name="mango <b>")
    first, second, nobody = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first.tags.set([zebra, apple, mango])
    second.tags.set([mango])

    rows = list(_with_lists())

    assert [r.tag_names for r in rows] == [["apple", "mango <b>", "zebra"], ["mango <b>"], []]
    assert rows[0].tag_pairs == [[apple.pk, "apple"], [mango.pk, "mango <b>"], [zebra.pk, "zebra"]]
    assert rows[2].tag_pairs == []


def test_a_json_list_keeps_quotes_and_unicode_intact():
    customer = CustomerFactory()
    customer.favourite_products.set([ProductFactory(name='Café "au lait", \\ large')])

    favourites = JSONList(
        Customer.favourite_products.through.objects.filter(customer_id=OuterRef("pk")), "product__name"
    )

    assert Customer.objects.annotate(names=favourites).get().names == ['Café "au lait", \\ large']
