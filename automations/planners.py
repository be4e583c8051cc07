"""Planners: turn today's occasions into outbox rows, set-based, safe to run any number of times.

Each planner works out "today" in the shop's time zone, finds the recipients with one
query, and inserts rows with bulk_create(ignore_conflicts=True): the UNIQUE
(recipient, kind, occasion key) means a second run adds nothing. Nothing here sends
or uses Celery ETAs; the sweep sends rows when their planned time comes.
"""

import calendar
import logging
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.contrib.auth.models import User
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat, JSONObject, TruncDate

from automations.eligibility import customers_eligible
from automations.models import Automation, OutboundMessage
from automations.schedule import DIGEST_TIME, GREETING_TIME, clamp_to_sending_hours, local_datetime, local_today
from automations.services import automation_get, outbox_plan_from, outbox_plan_rows
from crm.models import ShopSettings
from customers.models import Customer
from gifts.models import GiftCode
from touchpoints.models import Touchpoint

log = logging.getLogger(__name__)

# "We miss you" catches lapses up to this many days old, so a missed day of planning is made up.
WE_MISS_YOU_LOOKBACK = timedelta(days=7)
THANK_YOU_GAP_DAYS = 14
# Digests are planned only in the morning: a planner run late in the day does not send a stale one.
DIGEST_PLAN_UNTIL = time(12, 0)


def birthday_filter(target) -> Q:
    """Customers whose birthday falls on `target`, with 29 February moved in other years by the owner's choice."""
    q = Q(birthday_month=target.month, birthday_day=target.day)
    if not calendar.isleap(target.year):
        on_march_1 = automation_get(Automation.Kind.BIRTHDAY).leap_day_on_march_1
        if (target.month, target.day) == ((3, 1) if on_march_1 else (2, 28)):
            q |= Q(birthday_month=2, birthday_day=29)
    return q


def plan_birthdays(*, now: datetime) -> int:
    """Greet customers M days before their birthday, at 10:00 shop time; occasion birthday:<year of the birthday>."""
    automation = automation_get(Automation.Kind.BIRTHDAY)
    if not automation.enabled:
        return 0
    tz = ShopSettings.load().tz
    today = local_today(now, tz)
    target = today + timedelta(days=automation.days)
    planned_at = local_datetime(today, GREETING_TIME, tz)
    return outbox_plan_from(
        Customer.objects.filter(birthday_filter(target)),
        kind=automation.kind,
        customer="pk",
        review=automation.review_before_sending,
        occasion_key=Value(f"birthday:{target.year}", output_field=CharField()),
        planned_at=planned_at,
        context=JSONObject(birthday=Value(target.isoformat(), output_field=CharField())),
    )


def plan_gift_expiry_reminders(*, now: datetime) -> int:
    """Remind customers N days before an unredeemed gift code's last day."""
    automation = automation_get(Automation.Kind.GIFT_EXPIRY)
    if not automation.enabled:
        return 0
    tz = ShopSettings.load().tz
    today = local_today(now, tz)
    codes = GiftCode.objects.filter(expires_on=today + timedelta(days=automation.days), redeemed_at__isnull=True)
    return outbox_plan_from(
        codes,
        kind=automation.kind,
        customer="customer_id",
        review=automation.review_before_sending,
        occasion_key=Concat(Value("giftexpiry:"), Cast("pk", CharField()), output_field=CharField()),
        planned_at=local_datetime(today, GREETING_TIME, tz),
        context=JSONObject(gift_code_id=F("pk")),
    )


def plan_we_miss_you(*, now: datetime) -> int:
    """Once per lapse: the last touchpoint is older than their cadence (or the shop's default).

    The occasion is the date of that last touchpoint, so any new touchpoint starts a new
    lapse; one query per run, an OR of one last-touchpoint range per cadence in use.
    """
    automation = automation_get(Automation.Kind.WE_MISS_YOU)
    if not automation.enabled:
        return 0
    shop = ShopSettings.load()
    tz = shop.tz
    cadences = {
        cadence
        for cadence in Customer.objects.filter(cadence_days__isnull=False)
        .order_by()
        .values_list("cadence_days", flat=True)
        .distinct()
        if cadence is not None  # the filter leaves none; this tells the type checker
    }
    lapsed = Q(cadence_days__isnull=True) & _lapsed_range(shop.default_cadence_days, now)
    for cadence in cadences:
        lapsed |= Q(cadence_days=cadence) & _lapsed_range(cadence, now)
    planned_at = clamp_to_sending_hours(max(now, local_datetime(local_today(now, tz), GREETING_TIME, tz)), tz)
    # The occasion is the shop-local date of the last touchpoint: a new touchpoint, a new lapse.
    last_day = Cast(TruncDate("last_touchpoint_at", tzinfo=tz), CharField())
    return outbox_plan_from(
        Customer.objects.filter(lapsed),
        kind=automation.kind,
        customer="pk",
        review=automation.review_before_sending,
        occasion_key=Concat(Value("wemissyou:"), last_day, output_field=CharField()),
        planned_at=planned_at,
        context=JSONObject(),
    )


def _lapsed_range(cadence_days: int, now: datetime) -> Q:
    lapsed_before = now - timedelta(days=cadence_days)
    return Q(last_touchpoint_at__lte=lapsed_before, last_touchpoint_at__gt=lapsed_before - WE_MISS_YOU_LOOKBACK)


def plan_thank_yous(*, now: datetime) -> int:
    """Thank customers N days after a purchase, naming what they bought; one per customer per 14 days."""
    automation = automation_get(Automation.Kind.THANK_YOU)
    if not automation.enabled:
        return 0
    tz = ShopSettings.load().tz
    today = local_today(now, tz)
    purchase_day = today - timedelta(days=automation.days)
    purchases = (
        Touchpoint.objects.filter(
            kind=Touchpoint.Kind.PURCHASE,
            refunded_at__isnull=True,  # refunded before the thank-you went out: nothing to thank them for
            happened_at__gte=local_datetime(purchase_day, time(0), tz),
            happened_at__lt=local_datetime(purchase_day + timedelta(days=1), time(0), tz),
            customer__in=customers_eligible(),
        )
        .order_by("customer_id", "-happened_at", "-pk")
        .values_list("pk", "customer_id", "happened_at")
    )
    latest: dict[int, tuple[int, datetime]] = {}
    for pk, customer_id, happened_at in purchases:
        latest.setdefault(customer_id, (pk, happened_at))
    if not latest:
        return 0
    # At most one per 14 days: anyone with a thank-you planned in the 13 days before today is skipped.
    recent = set(
        OutboundMessage.objects.filter(
            kind=automation.kind,
            customer_id__in=latest,
            planned_at__gte=local_datetime(today - timedelta(days=THANK_YOU_GAP_DAYS - 1), time(0), tz),
        )
        .exclude(status=OutboundMessage.Status.CANCELLED)
        .values_list("customer_id", flat=True)
    )
    wanted = {customer_id: v for customer_id, v in latest.items() if customer_id not in recent}
    products = defaultdict(list)
    through = Touchpoint.products.through.objects.filter(touchpoint_id__in=[pk for pk, _ in wanted.values()])
    for touchpoint_id, name in through.values_list("touchpoint_id", "product__name").order_by("product__name"):
        products[touchpoint_id].append(name)
    rows = []
    for customer_id, (pk, happened_at) in wanted.items():
        local = happened_at.astimezone(tz)
        due = clamp_to_sending_hours(datetime.combine(today, local.time(), tzinfo=tz), tz)
        rows.append(
            OutboundMessage(
                customer_id=customer_id,
                kind=automation.kind,
                occasion_key=f"thankyou:{pk}",
                planned_at=due,
                context={"touchpoint_id": pk, "products": products[pk]},
            )
        )
    return outbox_plan_rows(rows, review=automation.review_before_sending)


def plan_digests(*, now: datetime) -> int:
    """Each staff member's morning digest at 08:00 shop time; planned only until noon."""
    automation = automation_get(Automation.Kind.DIGEST)
    if not automation.enabled:
        return 0
    tz = ShopSettings.load().tz
    if now.astimezone(tz).time() >= DIGEST_PLAN_UNTIL:
        return 0
    today = local_today(now, tz)
    planned_at = local_datetime(today, DIGEST_TIME, tz)
    users = (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(groups__name__in=("Owner", "Staff")) | Q(is_superuser=True))
        .distinct()
        .values_list("pk", flat=True)
    )
    rows = [
        OutboundMessage(
            staff_user_id=pk, kind=automation.kind, occasion_key=f"digest:{today.isoformat()}", planned_at=planned_at
        )
        for pk in users
    ]
    return outbox_plan_rows(rows, review=automation.review_before_sending)


PLANNERS = {
    "birthday": plan_birthdays,
    "gift_expiry": plan_gift_expiry_reminders,
    "wemissyou": plan_we_miss_you,
    "thankyou": plan_thank_yous,
    "digest": plan_digests,
}


def plan_all(*, now: datetime) -> dict[str, int]:
    """Run every planner; returns how many rows each added or offered (repeats are ignored by the database).

    One planner failing does not stop the others; the error is logged and raised at the end
    so the task shows as failed, and the next hourly run tries again.
    """
    counts, failures = {}, []
    for name, planner in PLANNERS.items():
        try:
            counts[name] = planner(now=now)
        except Exception as exc:  # keep planning the other occasions
            log.exception("Planner %s failed", name)
            failures.append(exc)
    if failures:
        raise failures[0]
    return counts
