"""Writes of the dashboard app: its rollup tables, nothing else.

Every rollup recomputes whole days: delete the day's rows, insert them again from the
source tables in one grouped query. Running it twice gives the same rows.
"""

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q, Sum

from automations.models import EmailOptOut, OutboundMessage
from crm.clock import shop_today
from crm.models import ShopSettings
from crm.roles import OWNER, STAFF
from crm.tasks import enqueue_on_commit
from customers.models import Customer, FollowUp
from dashboard.models import DailyActivity, DailyFollowUp, DailyMessage, DailySnapshot, RingSnapshot
from touchpoints.figures import customer_figures_recompute_all
from touchpoints.models import Touchpoint

log = logging.getLogger(__name__)

RINGS = (5, 15, 50, 150)
TOP_REFERRERS = 10
# Follow-ups can still be ticked off after their day: keep refreshing this far back.
FOLLOWUP_REFRESH_DAYS = 120
# A touchpoint may be logged late ("it happened yesterday"): nightly refresh this far back.
ACTIVITY_REFRESH_DAYS = 7


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where the shop's day starts and the next one starts."""
    tz = ShopSettings.load().tz
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def ring_for_rank(rank: int) -> int | None:
    """1-5 are in the ring of 5, 6-15 in the 15, 16-50 in the 50, 51-150 in the 150."""
    for ring in RINGS:
        if rank <= ring:
            return ring
    return None


@transaction.atomic
def daily_activity_rollup(*, day: date) -> int:
    """Recompute the touchpoint counts of one shop day; returns the rows written."""
    start, end = _day_bounds(day)
    rows = (
        Touchpoint.objects.filter(happened_at__gte=start, happened_at__lt=end)
        .order_by()
        .values("kind", "logged_by_id", "sentiment")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    DailyActivity.objects.filter(day=day).delete()
    objs = [
        DailyActivity(
            day=day,
            kind=r["kind"],
            staff_id=r["logged_by_id"],
            sentiment=r["sentiment"],
            count=r["n"],
            amount=r["total"] or Decimal(0),
        )
        for r in rows
    ]
    DailyActivity.objects.bulk_create(objs)
    return len(objs)


@transaction.atomic
def daily_followup_rollup(*, start: date, end: date) -> int:
    """Recompute follow-up figures for due days start..end (inclusive); returns the days written."""
    rows = (
        FollowUp.objects.filter(due_date__gte=start, due_date__lte=end)
        .order_by()
        .values("due_date")
        .annotate(
            due=Count("pk"),
            done=Count("pk", filter=Q(status=FollowUp.Status.DONE)),
            cancelled=Count("pk", filter=Q(status=FollowUp.Status.CANCELLED)),
        )
    )
    DailyFollowUp.objects.filter(day__gte=start, day__lte=end).delete()
    objs = [DailyFollowUp(day=r["due_date"], due=r["due"], done=r["done"], cancelled=r["cancelled"]) for r in rows]
    DailyFollowUp.objects.bulk_create(objs)
    return len(objs)


def _opt_outs_between(start: datetime, end: datetime) -> int:
    """Unsubscribes in [start, end), from the automations app's opt-out log."""
    return EmailOptOut.objects.filter(created_at__gte=start, created_at__lt=end).count()


@transaction.atomic
def daily_message_rollup(*, day: date) -> int:
    """Recompute one day's automated-message outcomes from the outbox; returns the rows written."""
    start, end = _day_bounds(day)
    # planned_at narrows to the outbox index first; a message is sent on or after its planned time.
    recent = OutboundMessage.objects.filter(planned_at__gte=start - timedelta(days=30), planned_at__lt=end)
    sent = recent.filter(status=OutboundMessage.Status.SENT, sent_at__gte=start, sent_at__lt=end).count()
    failed = recent.filter(status=OutboundMessage.Status.FAILED, updated_at__gte=start, updated_at__lt=end).count()
    counts = {
        DailyMessage.Outcome.SENT: sent,
        DailyMessage.Outcome.FAILED: failed,
        DailyMessage.Outcome.UNSUBSCRIBED: _opt_outs_between(start, end),
    }
    DailyMessage.objects.filter(day=day).delete()
    objs = [DailyMessage(day=day, outcome=k, count=n) for k, n in counts.items() if n]
    DailyMessage.objects.bulk_create(objs)
    return len(objs)


@transaction.atomic
def daily_snapshot_take(*, day: date, now: datetime) -> DailySnapshot:
    """Count customers by health and stage, repeat buyers and their revenue, and the top referrers."""
    live = Customer.objects.filter(is_archived=False)
    figures = live.aggregate(
        warm=Count("pk", filter=Q(health=Customer.Health.WARM)),
        cooling=Count("pk", filter=Q(health=Customer.Health.COOLING)),
        cold=Count("pk", filter=Q(health=Customer.Health.COLD)),
        prospects=Count("pk", filter=Q(stage=Customer.Stage.PROSPECT)),
        customers=Count("pk", filter=Q(stage=Customer.Stage.CUSTOMER)),
        regulars=Count("pk", filter=Q(stage=Customer.Stage.REGULAR)),
        advocates=Count("pk", filter=Q(stage=Customer.Stage.ADVOCATE)),
        buyers=Count("pk", filter=Q(purchase_count__gte=1)),
        repeat_buyers=Count("pk", filter=Q(purchase_count__gte=2)),
        revenue_total=Sum("lifetime_spend"),
        revenue_repeat=Sum("lifetime_spend", filter=Q(purchase_count__gte=2)),
    )
    figures["revenue_total"] = figures["revenue_total"] or Decimal(0)
    figures["revenue_repeat"] = figures["revenue_repeat"] or Decimal(0)
    referrers = (
        Customer.objects.filter(referred_by__isnull=False, referred_by__is_archived=False)
        .order_by()
        .values("referred_by_id")
        .annotate(n=Count("pk"), buyers=Count("pk", filter=Q(purchase_count__gte=1)))
        .order_by("-buyers", "-n", "referred_by_id")[:TOP_REFERRERS]
    )
    figures["top_referrers"] = [[r["referred_by_id"], r["n"], r["buyers"]] for r in referrers]
    # Imported here: the selectors module imports this one.
    from dashboard.selectors import DRIFTING_KEPT, birthday_window, cadences_in_use, drifting_queryset

    figures["cadences"] = cadences_in_use()
    drifting = drifting_queryset(now=now, cadences=figures["cadences"])
    figures["drifting_count"] = drifting.count()
    figures["drifting_ids"] = list(drifting.order_by("-closeness", "pk").values_list("pk", flat=True)[:DRIFTING_KEPT])
    figures["birthday_count"] = live.filter(birthday_window(today=day)[0]).count()
    snapshot, _ = DailySnapshot.objects.update_or_create(day=day, defaults={**figures, "taken_at": now})
    return snapshot


def rings_ranked(*, user: User | None, limit: int = RINGS[-1]) -> list[int]:
    """Ids of the closest customers (the shop's, or those `user` looks after), closest first."""
    qs = Customer.objects.filter(is_archived=False, last_touchpoint_at__isnull=False)
    if user is not None:
        qs = qs.filter(owner=user)
    return list(qs.order_by("-closeness", "pk").values_list("pk", flat=True)[:limit])


@transaction.atomic
def ring_snapshot_take(*, day: date) -> int:
    """Record today's rings for the shop and for every active staff member; returns rows written."""
    RingSnapshot.objects.filter(day=day).delete()
    people = User.objects.filter(is_active=True, groups__name__in=[STAFF, OWNER]).distinct()
    objs = []
    for user in [None, *people]:
        for rank, customer_id in enumerate(rings_ranked(user=user), start=1):
            ring = ring_for_rank(rank)
            assert ring is not None, "rings_ranked returns at most the outer ring's size"
            objs.append(RingSnapshot(day=day, user=user, customer_id=customer_id, ring=ring, rank=rank))
    RingSnapshot.objects.bulk_create(objs, batch_size=1000)
    return len(objs)


def dashboard_nightly(*, now: datetime) -> dict:
    """The nightly run: figures for the passage of time, then snapshots and recent rollups."""
    today = shop_today(now=now)
    done = {"customers": customer_figures_recompute_all(now=now)}
    daily_snapshot_take(day=today, now=now)
    done["ring_rows"] = ring_snapshot_take(day=today)
    for offset in range(ACTIVITY_REFRESH_DAYS + 1):
        daily_activity_rollup(day=today - timedelta(days=offset))
        daily_message_rollup(day=today - timedelta(days=offset))
    done["followup_days"] = daily_followup_rollup(
        start=today - timedelta(days=FOLLOWUP_REFRESH_DAYS), end=today + timedelta(days=FOLLOWUP_REFRESH_DAYS)
    )
    # Old ring snapshots are only needed a week back (who is slipping).
    RingSnapshot.objects.filter(day__lt=today - timedelta(days=35)).delete()
    return done


def dashboard_hourly(*, now: datetime) -> None:
    """Keep today and yesterday's activity, messages and follow-ups current during the day."""
    today = shop_today(now=now)
    for day in (today - timedelta(days=1), today):
        daily_activity_rollup(day=day)
        daily_message_rollup(day=day)
    daily_followup_rollup(start=today - timedelta(days=14), end=today + timedelta(days=14))


def dashboard_backfill(*, start: date, end: date) -> int:
    """Fill the activity, message and follow-up rollups for every day start..end (e.g. after an import)."""
    day, days = start, 0
    while day <= end:
        daily_activity_rollup(day=day)
        daily_message_rollup(day=day)
        day += timedelta(days=1)
        days += 1
    daily_followup_rollup(start=start, end=end)
    return days


def dashboard_refresh_enqueue() -> None:
    """The owner's "recompute now": queue the nightly run after commit; if the broker is down, tonight's run does it."""
    from dashboard.tasks import dashboard_nightly_task

    enqueue_on_commit(dashboard_nightly_task, backstop="the nightly run (dashboard-nightly, 02:30 UTC)")
