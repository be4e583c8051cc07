"""Segments: the stored filter turned into customers, checked against counts worked out by hand."""

import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from community.models import Segment
from community.selectors import segment_count, segment_customers
from community.services import segment_create, segment_delete
from customers.models import Customer
from tests.factories import (
    CustomerFactory,
    NewsletterFactory,
    ProductFactory,
    SegmentFactory,
    StaffFactory,
    TagFactory,
)

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    """60 customers with every filtered attribute spread around, made reproducibly."""
    rng = random.Random(7)
    tags = [TagFactory(name=n) for n in ("wine", "coffee", "vip")]
    products = [ProductFactory(name=n) for n in ("Rioja", "Espresso", "Cake")]
    owners = [StaffFactory(), StaffFactory()]
    made, tag_rows, product_rows = [], [], []
    for i in range(60):
        customer = CustomerFactory(
            health=rng.choice(Customer.Health.values),
            stage=rng.choice(Customer.Stage.values),
            birthday_month=(month := rng.choice([None, 1, 2, 6, 12])),
            birthday_day=rng.randint(1, 28) if month else None,
            purchase_count=rng.randint(0, 8),
            lifetime_spend=Decimal(rng.randint(0, 500)),
            owner=rng.choice(owners + [None]),
            email_consent=rng.random() < 0.6,
            email="" if i % 10 == 0 else f"p{i}@mail.example",
            last_touchpoint_at=None
            if i % 7 == 0
            else datetime(2026, 3, 1, 12, tzinfo=LONDON) + timedelta(days=rng.randint(0, 60)),
            is_archived=i % 13 == 0,
        )
        # Through rows in bulk: the same data without a history row per m2m change (keeps the test fast).
        tag_rows += [Customer.tags.through(customer=customer, tag=t) for t in rng.sample(tags, rng.randint(0, 2))]
        product_rows += [
            Customer.favourite_products.through(customer=customer, product=p)
            for p in rng.sample(products, rng.randint(0, 2))
        ]
        made.append(customer)
    Customer.tags.through.objects.bulk_create(tag_rows)
    Customer.favourite_products.through.objects.bulk_create(product_rows)
    return {"customers": made, "tags": tags, "products": products, "owners": owners}


def by_hand(customers, predicate) -> set[int]:
    return {c.pk for c in customers if not c.is_archived and predicate(c)}


def ids(filters) -> set[int]:
    return set(segment_customers(filters).values_list("pk", flat=True))


def test_an_empty_filter_selects_every_customer_who_is_not_archived(people):
    assert ids({}) == by_hand(people["customers"], lambda c: True)


def test_each_filter_selects_the_same_customers_as_counted_by_hand(people):
    cs, tags, products, owners = people["customers"], people["tags"], people["products"], people["owners"]
    wine, vip = tags[0], tags[2]
    rioja = products[0]
    cases = [
        ({"tags": [wine.pk, vip.pk]}, lambda c: bool({wine.pk, vip.pk} & {t.pk for t in c.tags.all()})),
        ({"favourite_products": [rioja.pk]}, lambda c: rioja in c.favourite_products.all()),
        ({"health": ["warm", "cooling"]}, lambda c: c.health in ("warm", "cooling")),
        ({"stage": ["regular"]}, lambda c: c.stage == "regular"),
        ({"birthday_months": [6, 12]}, lambda c: c.birthday_month in (6, 12)),
        ({"min_purchases": 5}, lambda c: c.purchase_count >= 5),
        ({"min_spend": "250.00"}, lambda c: c.lifetime_spend >= 250),
        ({"owners": [owners[0].pk]}, lambda c: c.owner_id == owners[0].pk),
        ({"consent": "yes"}, lambda c: c.email_consent and c.email),
        ({"consent": "no"}, lambda c: not (c.email_consent and c.email)),
        (
            {"last_touchpoint_from": "2026-03-10", "last_touchpoint_to": "2026-04-05"},
            lambda c: (
                c.last_touchpoint_at is not None
                and datetime(2026, 3, 10, tzinfo=LONDON) <= c.last_touchpoint_at < datetime(2026, 4, 6, tzinfo=LONDON)
            ),
        ),
    ]
    for filters, predicate in cases:
        expected = by_hand(cs, predicate)
        # Comment: each case must select someone and leave someone out, or it proves nothing.
        assert 0 < len(expected) < len(by_hand(cs, lambda c: True)), filters
        assert ids(filters) == expected, filters


def test_filters_combine_with_and_and_a_tag_shared_twice_counts_a_customer_once(people):
    cs, tags = people["customers"], people["tags"]
    both = [c for c in cs if not c.is_archived][0]
    both.tags.set(tags[:2])
    filters = {"tags": [tags[0].pk, tags[1].pk], "consent": "yes", "health": ["warm", "cold"]}
    expected = by_hand(
        cs,
        lambda c: (
            bool({tags[0].pk, tags[1].pk} & {t.pk for t in c.tags.all()})
            and c.email_consent
            and c.email
            and c.health in ("warm", "cold")
        ),
    )

    assert segment_count(filters)["total"] == len(expected)
    assert segment_customers(filters).count() == len(set(segment_customers(filters).values_list("pk", flat=True)))


def test_the_reachable_count_is_those_with_consent_and_an_address(people):
    expected = by_hand(people["customers"], lambda c: c.email_consent and c.email)

    assert segment_count({})["reachable"] == len(expected)


def test_a_saved_segment_reads_its_stored_filter(people, owner):
    segment = segment_create(name=" Cooling wine lovers ", filters={"health": ["cooling"]}, created_by=owner)

    assert segment.name == "Cooling wine lovers"
    assert set(segment_customers(segment).values_list("pk", flat=True)) == ids({"health": ["cooling"]})


def test_a_segment_a_newsletter_uses_cannot_be_deleted(owner):
    newsletter = NewsletterFactory()

    with pytest.raises(Exception, match="uses this segment"):
        segment_delete(segment=newsletter.segment, deleted_by=owner)
    assert Segment.objects.filter(pk=newsletter.segment_id).exists()


# --- pages ---------------------------------------------------------------------------


def test_staff_save_a_segment_from_the_form(staff_client, people):
    wine = people["tags"][0]
    response = staff_client.post(
        reverse("community:segment_create"), {"name": "Wine", "tags": [wine.pk], "consent": "yes"}
    )

    segment = Segment.objects.get(name="Wine")
    assert response.status_code == 302
    assert segment.filters == {"tags": [wine.pk], "consent": "yes"}


def test_a_to_date_before_the_from_date_is_refused_and_nothing_is_saved(staff_client):
    response = staff_client.post(
        reverse("community:segment_create"),
        {"name": "Odd", "last_touchpoint_from": "2026-05-01", "last_touchpoint_to": "2026-04-01"},
    )

    assert response.status_code == 400
    assert "before the" in response.content.decode()
    assert not Segment.objects.exists()


def test_the_live_count_answers_with_the_number_that_match(staff_client, people):
    response = staff_client.post(reverse("community:segment_count"), {"health": ["warm"]}, HTTP_HX_REQUEST="true")

    expected = len(by_hand(people["customers"], lambda c: c.health == "warm"))
    assert response.status_code == 200
    assert f'<span data-testid="segment-total">{expected}</span>' in response.content.decode()


def test_the_members_page_runs_the_same_number_of_queries_for_1_and_40_members(
    staff_client, django_assert_max_num_queries
):
    segment = SegmentFactory()
    CustomerFactory()
    with django_assert_max_num_queries(12) as one:
        staff_client.get(reverse("community:segment_detail", args=[segment.pk]))
    CustomerFactory.create_batch(39)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = staff_client.get(reverse("community:segment_detail", args=[segment.pk]))
    assert response.content.decode().count("<tr>") == 41  # header + 40
