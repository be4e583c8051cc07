"""The owner dashboard: every figure against numbers worked out by hand from a small shop."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.models import EmailOptOut, OutboundMessage
from customers.models import Customer, FollowUp
from dashboard.models import DailyActivity, DailySnapshot
from dashboard.selectors import dashboard_for, drifting_away, upcoming_birthdays
from dashboard.services import daily_activity_rollup, daily_snapshot_take, dashboard_backfill
from tests.factories import (
    CustomerFactory,
    FollowUpFactory,
    OutboundMessageFactory,
    StaffFactory,
    TouchpointFactory,
)

# Wednesday 17 June 2026, 13:00 in London (BST, UTC+1); weeks start on Mondays 8 and 15 June.
NOW = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
TODAY = date(2026, 6, 17)
WEEK_15, WEEK_8 = date(2026, 6, 15), date(2026, 6, 8)
Health, Stage = Customer.Health, Customer.Stage

pytestmark = pytest.mark.django_db


def utc(month, day, hour=10, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def shop():
    """Two staff, a handful of touchpoints, follow-ups and messages over two weeks."""
    ann = StaffFactory(first_name="Ann", last_name="Able")
    bob = StaffFactory(first_name="Bob", last_name="Baker")
    alice, carl = CustomerFactory(), CustomerFactory()
    tp = TouchpointFactory
    # week of 15 June
    tp(customer=alice, logged_by=ann, kind="visit", happened_at=utc(6, 15))
    tp(customer=alice, logged_by=ann, kind="visit", happened_at=utc(6, 16))
    tp(customer=alice, logged_by=ann, kind="purchase", amount=Decimal("20"), happened_at=utc(6, 16))
    tp(customer=carl, logged_by=bob, kind="feedback", feedback_kind="praise", sentiment=1, happened_at=utc(6, 17, 9))
    # 23:30 UTC on Sunday 14 June is 00:30 on Monday 15 June in the shop: it counts in the later week
    tp(customer=carl, logged_by=ann, kind="visit", happened_at=utc(6, 14, 23, 30))
    # week of 8 June
    tp(customer=carl, logged_by=ann, kind="call", happened_at=utc(6, 9))
    tp(customer=carl, logged_by=bob, kind="feedback", feedback_kind="complaint", sentiment=-1, happened_at=utc(6, 10))
    tp(customer=alice, logged_by=bob, kind="purchase", amount=Decimal("30"), happened_at=utc(6, 10))
    # long before the period: must not count
    tp(customer=alice, logged_by=bob, kind="visit", happened_at=utc(1, 5))
    # follow-ups: due 16 June: 2 done, 1 cancelled; due 10 June: 1 done, 1 still open
    for status in ("done", "done", "cancelled"):
        FollowUpFactory(customer=alice, due_date=date(2026, 6, 16), status=status)
    for status in ("done", "open"):
        FollowUpFactory(customer=carl, due_date=date(2026, 6, 10), status=status)
    # outbox: one sent and one failed on 16 June, one still planned; one unsubscribe on 16 June
    sent = OutboundMessageFactory(customer=alice, status="sent", planned_at=utc(6, 16, 8), sent_at=utc(6, 16, 8, 1))
    failed = OutboundMessageFactory(customer=carl, status="failed", planned_at=utc(6, 16, 8))
    OutboundMessage.objects.filter(pk=failed.pk).update(updated_at=utc(6, 16, 9))
    OutboundMessageFactory(customer=carl, status="planned", planned_at=utc(6, 18))
    opt_out = EmailOptOut.objects.create(customer=alice, via="link")
    EmailOptOut.objects.filter(pk=opt_out.pk).update(created_at=utc(6, 16, 12))
    assert sent.pk
    dashboard_backfill(start=date(2026, 6, 1), end=TODAY)
    return {"ann": ann, "bob": bob, "alice": alice, "carl": carl}


def _figures(weeks=2):
    with time_machine.travel(NOW, tick=False):
        return dashboard_for(weeks=weeks, today=TODAY, now=NOW)


def test_touchpoints_per_week_by_kind_count_in_the_shops_time_zone(shop):
    ctx = _figures()
    labels = [k.value for k in ctx["kinds"]]
    rows = {r["week"]: dict(zip(labels, r["counts"])) for r in ctx["kind_rows"]}
    assert rows[WEEK_15] == {"visit": 3, "purchase": 1, "call": 0, "feedback": 1}
    assert rows[WEEK_8] == {"visit": 0, "purchase": 1, "call": 1, "feedback": 1}
    assert ctx["touchpoints_total"] == 8
    assert ctx["period"].week_starts == [WEEK_8, WEEK_15]


def test_activity_per_staff_member_sums_the_period(shop):
    ctx = _figures()
    assert [(s["name"], s["count"]) for s in ctx["staff"]] == [("Ann Able", 5), ("Bob Baker", 3)]


def test_feedback_sentiment_per_week(shop):
    rows = {r["week"]: r for r in _figures()["sentiment_rows"]}
    assert (rows[WEEK_15]["positive"], rows[WEEK_15]["neutral"], rows[WEEK_15]["negative"]) == (1, 0, 0)
    assert (rows[WEEK_8]["positive"], rows[WEEK_8]["negative"]) == (0, 1)


def test_follow_up_completion_leaves_cancelled_ones_out(shop):
    ctx = _figures()
    rows = {r["week"]: r for r in ctx["followup_rows"]}
    assert (rows[WEEK_15]["due"], rows[WEEK_15]["done"], rows[WEEK_15]["rate"]) == (2, 2, 100.0)
    assert (rows[WEEK_8]["due"], rows[WEEK_8]["done"], rows[WEEK_8]["rate"]) == (2, 1, 50.0)
    assert (ctx["followups_due"], ctx["followups_done"], ctx["followup_rate"]) == (4, 3, 75.0)


def test_automated_messages_sent_failed_and_unsubscribed(shop):
    ctx = _figures()
    rows = {r["week"]: r["counts"] for r in ctx["message_rows"]}
    assert rows[WEEK_15] == [1, 1, 1]
    assert rows[WEEK_8] == [0, 0, 0]
    assert ctx["message_totals"] == {"sent": 1, "failed": 1, "unsubscribed": 1}


def test_recomputing_a_day_twice_gives_the_same_rows(shop):
    before = sorted(
        DailyActivity.objects.filter(day=date(2026, 6, 16)).values_list("kind", "staff_id", "count", "amount")
    )
    daily_activity_rollup(day=date(2026, 6, 16))
    daily_activity_rollup(day=date(2026, 6, 16))
    after = sorted(
        DailyActivity.objects.filter(day=date(2026, 6, 16)).values_list("kind", "staff_id", "count", "amount")
    )
    assert after == before == sorted([("visit", shop["ann"].pk, 1, 0), ("purchase", shop["ann"].pk, 1, 20)])


def test_snapshot_counts_health_stages_repeat_buyers_revenue_and_top_referrers():
    def customer(health, stage, purchases, spend, **kw):
        c = CustomerFactory(**kw)
        Customer.objects.filter(pk=c.pk).update(
            health=health, stage=stage, purchase_count=purchases, lifetime_spend=Decimal(spend)
        )
        return c

    c1 = customer(Health.WARM, Stage.REGULAR, 3, "100")
    c2 = customer(Health.WARM, Stage.CUSTOMER, 1, "20")
    customer(Health.COOLING, Stage.CUSTOMER, 2, "50")
    customer(Health.COLD, Stage.PROSPECT, 0, "0")
    customer(Health.WARM, Stage.REGULAR, 5, "1000", is_archived=True)  # archived: left out
    customer(Health.COLD, Stage.CUSTOMER, 1, "10", referred_by=c1)
    customer(Health.COLD, Stage.PROSPECT, 0, "0", referred_by=c1)
    customer(Health.COLD, Stage.CUSTOMER, 1, "10", referred_by=c2)

    snap = daily_snapshot_take(day=TODAY, now=NOW)

    assert (snap.warm, snap.cooling, snap.cold) == (2, 1, 4)
    assert (snap.prospects, snap.customers, snap.regulars, snap.advocates) == (2, 4, 1, 0)
    assert (snap.buyers, snap.repeat_buyers) == (5, 2)
    assert (snap.revenue_total, snap.revenue_repeat) == (Decimal("190"), Decimal("150"))
    assert snap.top_referrers == [[c1.pk, 2, 1], [c2.pk, 1, 1]]
    ctx = _figures()
    assert (ctx["repeat_rate"], ctx["repeat_share"]) == (40.0, 78.9)
    assert [(r["customer"].pk, r["referred"], r["bought"]) for r in ctx["referrers"]] == [(c1.pk, 2, 1), (c2.pk, 1, 1)]
    # taking the same day's snapshot again replaces it
    daily_snapshot_take(day=TODAY, now=NOW)
    assert DailySnapshot.objects.filter(day=TODAY).count() == 1


def test_health_trend_shows_each_weeks_last_snapshot_in_the_period():
    # 28 May (outside), 8 and 10 June (week of 8 June), 14 June (a Sunday, same week), 17 June
    for day, warm in ((28, 1), (8, 5), (10, 6), (14, 7), (17, 9)):
        DailySnapshot.objects.create(day=date(2026, 6 if day < 28 else 5, day), warm=warm, cold=1, taken_at=NOW)
    ctx = _figures(weeks=2)  # from Monday 8 June
    assert [(s.day, s.warm) for s in ctx["health_rows"]] == [(date(2026, 6, 14), 7), (TODAY, 9)]
    assert ctx["health_chart"]["datasets"][0]["data"] == [7, 9]
    assert ctx["latest"].warm == 9


def test_upcoming_birthdays_cover_today_and_the_next_13_days_soonest_first():
    out_before = CustomerFactory(birthday_day=16, birthday_month=6)
    today = CustomerFactory(birthday_day=17, birthday_month=6, birthday_year=1990)
    last = CustomerFactory(birthday_day=30, birthday_month=6)
    CustomerFactory(birthday_day=1, birthday_month=7)  # 14 days away: outside
    CustomerFactory(birthday_day=20, birthday_month=6, is_archived=True)
    rows, count = upcoming_birthdays(today=TODAY)
    assert [(r["customer"].pk, r["in_days"]) for r in rows] == [(today.pk, 0), (last.pk, 13)]
    assert rows[0]["turns"] == 36
    assert count == 2
    assert out_before.pk not in [r["customer"].pk for r in rows]


def test_upcoming_birthdays_run_across_the_new_year_and_put_29_february_on_the_28th():
    jan = CustomerFactory(birthday_day=2, birthday_month=1)
    dec = CustomerFactory(birthday_day=30, birthday_month=12)
    rows, count = upcoming_birthdays(today=date(2026, 12, 25))
    assert [r["customer"].pk for r in rows] == [dec.pk, jan.pk] and count == 2
    leap = CustomerFactory(birthday_day=29, birthday_month=2)
    rows, _ = upcoming_birthdays(today=date(2027, 2, 20))
    assert [(r["customer"].pk, r["date"]) for r in rows] == [(leap.pk, date(2027, 2, 28))]


def test_drifting_away_means_warm_a_month_ago_and_cooling_or_cold_now():
    def customer(days_ago, health, **kw):
        c = CustomerFactory(**kw)
        Customer.objects.filter(pk=c.pk).update(last_touchpoint_at=NOW - timedelta(days=days_ago), health=health)
        return c

    # default cadence 60: a month ago they were warm if last seen 30-90 days ago
    drifting = customer(70, Health.COOLING)
    customer(95, Health.COLD)  # already cooling a month ago
    customer(40, Health.WARM)  # still warm (a frequent customer)
    customer(10, Health.COOLING)  # seen since (a complaint cooled them): not drifting
    own_cadence = customer(35, Health.COOLING, cadence_days=10)  # 5 days past a month ago, within 10
    customer(45, Health.COLD, cadence_days=10)  # 15 days past a month ago: cooling then
    rows, count = drifting_away(now=NOW)
    assert sorted(r["customer"].pk for r in rows) == sorted([drifting.pk, own_cadence.pk])
    assert count == 2
    FollowUpFactory(customer=drifting)
    rows, _ = drifting_away(now=NOW)
    assert {r["customer"].pk: r["customer"].has_followup for r in rows} == {drifting.pk: True, own_cadence.pk: False}


def test_the_page_reads_last_nights_drifting_list_leaving_out_whoever_warmed_up_since():
    def customer(days_ago, health, closeness):
        c = CustomerFactory()
        Customer.objects.filter(pk=c.pk).update(
            last_touchpoint_at=NOW - timedelta(days=days_ago), health=health, closeness=closeness
        )
        return c

    close, closer = customer(70, Health.COOLING, 10), customer(80, Health.COLD, 20)
    snapshot = daily_snapshot_take(day=TODAY, now=NOW)
    assert (snapshot.drifting_ids, snapshot.drifting_count) == ([closer.pk, close.pk], 2)
    Customer.objects.filter(pk=closer.pk).update(health=Health.WARM)  # came in this morning
    rows, count = drifting_away(now=NOW, snapshot=snapshot)
    assert [r["customer"].pk for r in rows] == [close.pk]
    assert count == 2  # as of last night


# --- the page ----------------------------------------------------------------------------------


def test_staff_get_403_on_the_dashboard_and_its_actions(staff_client):
    customer = CustomerFactory()
    assert staff_client.get("/dashboard/").status_code == 403
    assert staff_client.post(f"/dashboard/drifting/{customer.pk}/follow-up/").status_code == 403
    assert staff_client.post("/dashboard/refresh/").status_code == 403
    assert not FollowUp.objects.exists()


def test_the_owner_sees_the_dashboard_with_chart_data_and_tables(owner_client, shop):
    daily_snapshot_take(day=TODAY, now=NOW)
    with time_machine.travel(NOW, tick=False):
        response = owner_client.get("/dashboard/?weeks=4")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="dashboard-charts"' in html and "<canvas" in html and "Show as a table" in html
    assert "<script>" not in html.replace("<script src=", "")  # no inline script
    assert response.context["weeks"] == 4


def test_a_nonsense_period_falls_back_to_12_weeks(owner_client):
    response = owner_client.get("/dashboard/?weeks=9999")
    assert response.status_code == 200 and response.context["weeks"] == 12
    assert owner_client.get("/dashboard/?weeks=abc").context["weeks"] == 12


def test_one_click_opens_a_follow_up_for_a_drifting_customer(owner_client, owner):
    customer = CustomerFactory(owner=owner)
    response = owner_client.post(f"/dashboard/drifting/{customer.pk}/follow-up/?weeks=4")
    assert response.status_code == 302 and response["Location"] == "/dashboard/?weeks=4#drifting"
    followup = FollowUp.objects.get()
    assert (followup.customer, followup.assignee, followup.status) == (customer, owner, "open")


def test_a_forged_follow_up_link_changes_nothing(owner_client):
    assert owner_client.post("/dashboard/drifting/999999/follow-up/").status_code == 404
    archived = CustomerFactory(is_archived=True)
    assert owner_client.post(f"/dashboard/drifting/{archived.pk}/follow-up/").status_code == 404
    assert owner_client.get(f"/dashboard/drifting/{archived.pk}/follow-up/").status_code == 405
    assert not FollowUp.objects.exists()


def _dashboard_queries(client) -> int:
    """Queries of a dashboard view with nothing kept in the cache (the delivery rates are kept a few minutes)."""
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/dashboard/").status_code == 200
    return len(ctx.captured_queries)


def test_the_dashboard_runs_the_same_number_of_queries_for_1_and_40_customers(owner_client, owner):
    def grow(n):
        for i in range(n):
            c = CustomerFactory(owner=owner, birthday_day=TODAY.day, birthday_month=TODAY.month, referred_by=first)
            Customer.objects.filter(pk=c.pk).update(
                last_touchpoint_at=NOW - timedelta(days=70), health=Health.COOLING, purchase_count=2
            )
            TouchpointFactory(customer=c, logged_by=owner, happened_at=NOW - timedelta(days=i % 20))
            FollowUpFactory(customer=c, due_date=TODAY - timedelta(days=i % 10))
        daily_snapshot_take(day=TODAY, now=NOW)
        dashboard_backfill(start=TODAY - timedelta(days=30), end=TODAY)

    first = CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        grow(1)
        small = _dashboard_queries(owner_client)
        grow(39)
        large = _dashboard_queries(owner_client)  # counted without the cache's own clearing (a query on SQLite)
    assert small == large


def test_upcoming_birthdays_run_the_same_queries_whether_the_first_month_fills_the_list_or_not():
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            upcoming_birthdays(today=date(2026, 6, 25))  # the window runs into July
        return len(ctx.captured_queries)

    CustomerFactory(birthday_day=26, birthday_month=6)
    few = count()
    for _ in range(15):
        CustomerFactory(birthday_day=27, birthday_month=6)
    assert count() == few
