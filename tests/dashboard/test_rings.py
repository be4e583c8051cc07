"""Dunbar rings: who is in which ring, "your 150", and who is slipping outwards."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from dashboard.models import RingSnapshot
from dashboard.selectors import rings_for
from dashboard.services import ring_for_rank, ring_snapshot_take
from tests.factories import CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
TODAY = date(2026, 6, 17)


def make_customers(n: int, *, owner=None, start: float = 1000.0) -> list[Customer]:
    """n customers seen yesterday with strictly falling closeness (the first is the closest)."""
    Customer.objects.bulk_create(
        Customer(
            first_name=f"P{i:03d}",
            last_name="Test",
            owner=owner,
            closeness=start - i,
            last_touchpoint_at=NOW - timedelta(days=1),
            health=Customer.Health.WARM,
        )
        for i in range(n)
    )
    return list(Customer.objects.filter(owner=owner, first_name__startswith="P").order_by("-closeness"))


def test_ranks_fall_into_the_rings_of_5_15_50_and_150():
    assert [ring_for_rank(r) for r in (1, 5, 6, 15, 16, 50, 51, 150, 151)] == [5, 5, 15, 15, 50, 50, 150, 150, None]


def test_the_shops_rings_hold_the_150_closest_and_nobody_archived_or_never_seen():
    people = make_customers(152)
    Customer.objects.filter(pk=people[0].pk).update(is_archived=True)
    CustomerFactory(first_name="Never", closeness=5000)  # no touchpoint at all: not a relationship yet

    rings = rings_for(user=None, today=TODAY)

    members = rings["members"]
    assert len(members) == 150
    assert [m["customer"].pk for m in members] == [p.pk for p in people[1:151]]
    assert [len(r["members"]) for r in rings["rings"]] == [5, 10, 35, 100]
    assert members[4]["ring"] == 5 and members[5]["ring"] == 15 and members[149]["ring"] == 150
    assert len(rings["dots"]) == 150
    assert all(0 < d["x"] < 400 and 0 < d["y"] < 400 for d in rings["dots"])


def test_your_150_holds_only_the_customers_you_look_after():
    sam, jo = StaffFactory(), StaffFactory()
    mine = make_customers(3, owner=sam)
    make_customers(4, owner=jo, start=2000)
    rings = rings_for(user=sam, today=TODAY)
    assert [m["customer"].pk for m in rings["members"]] == [c.pk for c in mine]


def test_slipping_lists_who_moved_out_of_an_inner_ring_since_a_week_ago():
    people = make_customers(60)
    week_ago = TODAY - timedelta(days=7)
    # a week ago: people[59] was the closest, people[58] in the 15, people[0] in the 50, people[1] in the 150
    snap = [(people[59], 5, 1), (people[58], 15, 7), (people[0], 50, 20), (people[1], 150, 60)]
    RingSnapshot.objects.bulk_create(
        RingSnapshot(day=week_ago, customer=c, ring=ring, rank=rank) for c, ring, rank in snap
    )
    Customer.objects.filter(pk=people[58].pk).update(is_archived=True)
    # an older and a newer snapshot must not be the one compared with
    RingSnapshot.objects.create(day=week_ago - timedelta(days=1), customer=people[2], ring=5, rank=1)
    RingSnapshot.objects.create(day=TODAY - timedelta(days=1), customer=people[3], ring=5, rank=1)

    rings = rings_for(user=None, today=TODAY)

    assert rings["compare_day"] == week_ago
    # people[59] now ranks 60th (ring of 150); people[58] is gone; people[0] moved inwards
    assert [(s["customer"].pk, s["was"], s["now"]) for s in rings["slipping"]] == [
        (people[59].pk, 5, 150),
        (people[58].pk, 15, None),
    ]


def test_with_no_snapshot_a_week_old_the_oldest_earlier_one_is_used():
    people = make_customers(20)
    RingSnapshot.objects.create(day=TODAY - timedelta(days=2), customer=people[19], ring=5, rank=1)
    rings = rings_for(user=None, today=TODAY)
    assert rings["compare_day"] == TODAY - timedelta(days=2)
    assert [(s["customer"].pk, s["now"]) for s in rings["slipping"]] == [(people[19].pk, 50)]


def test_the_nightly_ring_snapshot_records_the_shop_and_each_staff_member(owner):
    sam = StaffFactory()
    make_customers(3, owner=sam)
    make_customers(2, owner=None, start=500)
    written = ring_snapshot_take(day=TODAY)
    assert written == 5 + 3
    assert RingSnapshot.objects.filter(day=TODAY, user__isnull=True).count() == 5
    assert list(RingSnapshot.objects.filter(day=TODAY, user=sam).values_list("rank", "ring")) == [
        (1, 5),
        (2, 5),
        (3, 5),
    ]
    # again the same day: replaced, not doubled
    ring_snapshot_take(day=TODAY)
    assert RingSnapshot.objects.filter(day=TODAY).count() == 8


def test_staff_see_their_own_rings_by_default_and_can_switch_to_the_shops(staff_client, staff):
    mine = make_customers(2, owner=staff)
    make_customers(3, start=2000)
    response = staff_client.get("/dashboard/rings/")
    assert response.status_code == 200 and response.context["scope"] == "mine"
    assert [m["customer"].pk for m in response.context["members"]] == [c.pk for c in mine]
    html = response.content.decode()
    assert f'href="/customers/{mine[0].pk}/"' in html and "<svg" in html
    response = staff_client.get("/dashboard/rings/?scope=shop")
    assert response.context["scope"] == "shop" and len(response.context["members"]) == 5
    assert staff_client.get("/dashboard/rings/?scope=bogus").context["scope"] == "mine"


def test_the_owner_sees_the_shops_rings_by_default(owner_client):
    make_customers(3)
    response = owner_client.get("/dashboard/rings/")
    assert response.context["scope"] == "shop" and len(response.context["members"]) == 3


def test_the_rings_page_runs_the_same_number_of_queries_for_3_and_150_people(owner_client):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get("/dashboard/rings/").status_code == 200
        return len(ctx.captured_queries)

    people = make_customers(3)
    RingSnapshot.objects.create(day=TODAY - timedelta(days=7), customer=people[0], ring=5, rank=1)
    small = count()
    more = make_customers(200, start=3000)
    RingSnapshot.objects.bulk_create(
        RingSnapshot(day=TODAY - timedelta(days=7), customer=c, ring=15, rank=i + 6) for i, c in enumerate(more[:10])
    )
    assert count() == small


def test_names_in_the_rings_are_escaped(staff_client, staff):
    CustomerFactory(first_name="<script>alert(1)</script>", owner=staff, last_touchpoint_at=NOW, closeness=5)
    html = staff_client.get("/dashboard/rings/").content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
