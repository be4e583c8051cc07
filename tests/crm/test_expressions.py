import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.db.models.expressions import RawSQL

from crm.expressions import RelatedNames, rows_exist_sql
from customers.models import Customer, FollowUp
from tests.factories import CustomerFactory, FollowUpFactory, ProductFactory, TagFactory, TouchpointFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


def test_related_names_hold_each_rows_own_names_a_to_z_or_id_name_pairs():
    zebra, apple, mango = TagFactory(name="zebra"), TagFactory(name="apple"), TagFactory(name="mango <b>")
    first, second, _nobody = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first.tags.set([zebra, apple, mango])
    second.tags.set([mango])

    rows = list(
        Customer.objects.annotate(
            tag_names=RelatedNames("tags"),
            tag_pairs=RelatedNames("tags", with_ids=True),
        ).order_by("pk")
    )

    assert [r.tag_names for r in rows] == [["apple", "mango <b>", "zebra"], ["mango <b>"], []]
    assert rows[0].tag_pairs == [[apple.pk, "apple"], [mango.pk, "mango <b>"], [zebra.pk, "zebra"]]
    assert rows[2].tag_pairs == []


def test_related_names_keep_quotes_and_unicode_and_follow_the_rows_own_relation():
    customer = CustomerFactory()
    customer.favourite_products.set([ProductFactory(name='Café "au lait", \\ large')])
    touchpoint = TouchpointFactory(customer=customer)
    touchpoint.products.set([ProductFactory(name="Sourdough"), ProductFactory(name="Brioche")])

    assert Customer.objects.annotate(names=RelatedNames("favourite_products")).get().names == [
        'Café "au lait", \\ large'
    ]
    assert Touchpoint.objects.annotate(names=RelatedNames("products")).get().names == ["Brioche", "Sourdough"]


def test_related_names_work_beside_joins_and_filters_on_the_same_relation():
    regular = TagFactory(name="regular")
    customer = CustomerFactory()
    customer.tags.set([regular, TagFactory(name="dog owner")])

    found = Customer.objects.filter(tags=regular).select_related("owner").annotate(names=RelatedNames("tags"))

    assert [c.names for c in found] == [["dog owner", "regular"]]


def test_rows_exist_says_which_rows_have_related_rows_with_the_values_asked_for():
    open_one, done_only, nothing = CustomerFactory(), CustomerFactory(), CustomerFactory()
    FollowUpFactory(customer=open_one, status=FollowUp.Status.SNOOZED)
    FollowUpFactory(customer=done_only, status=FollowUp.Status.DONE)

    row_id = f"{connection.ops.quote_name(Customer._meta.db_table)}.{connection.ops.quote_name('id')}"
    rows = Customer.objects.annotate(
        any_followup=RawSQL(*rows_exist_sql(FollowUp, "customer", row_id, connection)),
        open_followup=RawSQL(*rows_exist_sql(FollowUp, "customer", row_id, connection, status=FollowUp.OPEN_STATUSES)),
    ).order_by("pk")

    assert [(bool(r.any_followup), bool(r.open_followup)) for r in rows] == [
        (True, True),
        (True, False),
        (False, False),
    ]
    # The same answer as Django's own Exists(), on this database.
    assert [r.pk for r in rows if r.open_followup] == list(
        Customer.objects.filter(
            Exists(FollowUp.objects.filter(customer=OuterRef("pk"), status__in=FollowUp.OPEN_STATUSES))
        ).values_list("pk", flat=True)
    )
    assert nothing.pk not in [r.pk for r in rows if r.any_followup]
