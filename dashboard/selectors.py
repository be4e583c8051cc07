"""Page reads for the dashboard and the Dunbar rings: a fixed number of queries, read from rollups.

Nothing here aggregates the touchpoint table: charts read the daily rollups the tasks keep,
lists read indexed columns of the customer table with a LIMIT.
"""

import calendar
import html
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Exists, Max, OuterRef, Q, Sum
from django.db.models.functions import TruncWeek
from django.urls import reverse
from django.utils.safestring import SafeString

from crm.models import ShopSettings
from customers.health import recency_bound
from customers.models import Customer, FollowUp
from dashboard.models import DailyActivity, DailyFollowUp, DailyMessage, DailySnapshot, RingSnapshot
from dashboard.services import RINGS, ring_for_rank
from touchpoints.models import Touchpoint

PERIODS = {4: "Last 4 weeks", 12: "Last 12 weeks", 26: "Last 26 weeks", 52: "Last year"}
DEFAULT_WEEKS = 12
DRIFT_LOOKBACK_DAYS = 30
BIRTHDAY_DAYS = 14
LIST_LIMIT = 12
SLIPPING_COMPARE_DAYS = 7
DRIFTING_KEPT = 50


_CARD_PLACEHOLDER = 987654321


def customer_card_url(pk: int) -> str:
    """The friend card's address (reversed once: pages link up to 150 cards)."""
    global _card_url_pattern
    if _card_url_pattern is None:
        _card_url_pattern = reverse("customers:detail", args=[_CARD_PLACEHOLDER]).replace(str(_CARD_PLACEHOLDER), "{}")
    return _card_url_pattern.format(int(pk))


_card_url_pattern: str | None = None


@dataclass
class Period:
    weeks: int
    start: date  # a Monday
    end: date  # today
    week_starts: list[date] = field(default_factory=list)

    @classmethod
    def ending(cls, *, today: date, weeks: int) -> "Period":
        this_monday = today - timedelta(days=today.weekday())
        start = this_monday - timedelta(weeks=weeks - 1)
        return cls(weeks=weeks, start=start, end=today, week_starts=[start + timedelta(weeks=i) for i in range(weeks)])

    def week_of(self, day: date) -> date:
        return day - timedelta(days=day.weekday())

    @property
    def labels(self) -> list[str]:
        return [f"{d.day} {calendar.month_abbr[d.month]}" for d in self.week_starts]


def _pct(part: float | Decimal, whole: float | Decimal) -> float | None:
    return round(100 * float(part) / float(whole), 1) if whole else None


def _chart(kind: str, labels: list, datasets: list[dict], **options) -> dict:
    return {"type": kind, "labels": labels, "datasets": datasets, "options": options}


# --- the dashboard ---------------------------------------------------------------------------


def _health_section(period: Period) -> dict:
    daily = list(DailySnapshot.objects.filter(day__gte=period.start, day__lte=period.end).order_by("day"))
    latest = daily[-1] if daily else DailySnapshot.objects.order_by("-day").first()
    # The trend shows each week's last snapshot (up to 52 points and rows rather than 364).
    by_week = {period.week_of(s.day): s for s in daily}
    snapshots = [by_week[w] for w in sorted(by_week)]
    labels = [f"{s.day.day} {calendar.month_abbr[s.day.month]}" for s in snapshots]
    health_chart = _chart(
        "line",
        labels,
        [
            {"label": "Warm", "data": [s.warm for s in snapshots], "color": "warm"},
            {"label": "Cooling", "data": [s.cooling for s in snapshots], "color": "cooling"},
            {"label": "Cold", "data": [s.cold for s in snapshots], "color": "cold"},
        ],
    )
    repeat_chart = _chart(
        "line",
        labels,
        [
            {
                "label": "Repeat-customer rate %",
                "data": [_pct(s.repeat_buyers, s.buyers) for s in snapshots],
                "color": "primary",
            },
            {
                "label": "Repeat customers' share of revenue %",
                "data": [_pct(s.revenue_repeat, s.revenue_total) for s in snapshots],
                "color": "success",
            },
        ],
        percent=True,
    )
    referrers = []
    if latest and latest.top_referrers:
        names = {
            c.pk: c
            for c in Customer.objects.filter(pk__in=[r[0] for r in latest.top_referrers]).only(
                "pk", "first_name", "last_name", "preferred_name"
            )
        }
        referrers = [
            {"customer": names[pk], "url": customer_card_url(pk), "referred": n, "bought": bought}
            for pk, n, bought in latest.top_referrers
            if pk in names
        ]
    referrer_chart = _chart(
        "bar",
        [r["customer"].full_name for r in referrers],
        [
            {"label": "Friends referred", "data": [r["referred"] for r in referrers], "color": "cooling"},
            {"label": "Of whom bought", "data": [r["bought"] for r in referrers], "color": "warm"},
        ],
        horizontal=True,
    )
    return {
        "latest": latest,
        "health_chart": health_chart,
        "health_rows": snapshots,
        "repeat_rate": _pct(latest.repeat_buyers, latest.buyers) if latest else None,
        "repeat_share": _pct(latest.revenue_repeat, latest.revenue_total) if latest else None,
        "repeat_chart": repeat_chart,
        "repeat_rows": [
            {
                "day": s.day,
                "rate": _pct(s.repeat_buyers, s.buyers),
                "share": _pct(s.revenue_repeat, s.revenue_total),
                "buyers": s.buyers,
                "repeat_buyers": s.repeat_buyers,
            }
            for s in snapshots
        ],
        "referrers": referrers,
        "referrer_chart": referrer_chart,
    }


def _activity_section(period: Period) -> dict:
    by_week_kind: dict[tuple[date, str], int] = defaultdict(int)
    sentiment: dict[tuple[date, int], int] = defaultdict(int)
    rows = (
        DailyActivity.objects.filter(day__gte=period.start, day__lte=period.end)
        .annotate(week=TruncWeek("day"))
        .values("week", "kind", "sentiment")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for r in rows:
        week = r["week"] if isinstance(r["week"], date) and not isinstance(r["week"], datetime) else r["week"].date()
        by_week_kind[(week, r["kind"])] += r["n"]
        if r["kind"] == Touchpoint.Kind.FEEDBACK:
            sentiment[(week, r["sentiment"] or 0)] += r["n"]
    kinds = [k for k in Touchpoint.Kind if any(by_week_kind[(w, k.value)] for w in period.week_starts)]
    kind_chart = _chart(
        "bar",
        period.labels,
        [
            {
                "label": k.label,
                "data": [by_week_kind[(w, k.value)] for w in period.week_starts],
                "color": f"kind-{k.value}",
            }
            for k in kinds
        ],
        stacked=True,
    )
    kind_rows = [
        {
            "week": w,
            "counts": [by_week_kind[(w, k.value)] for k in kinds],
            "total": sum(by_week_kind[(w, k.value)] for k in kinds),
        }
        for w in period.week_starts
    ]
    moods = ((1, "Positive", "warm"), (0, "Neutral", "muted"), (-1, "Negative", "cold"))
    sentiment_chart = _chart(
        "bar",
        period.labels,
        [
            {"label": label, "data": [sentiment[(w, value)] for w in period.week_starts], "color": color}
            for value, label, color in moods
        ],
        stacked=True,
    )
    sentiment_rows = [
        {"week": w, "positive": sentiment[(w, 1)], "neutral": sentiment[(w, 0)], "negative": sentiment[(w, -1)]}
        for w in period.week_starts
    ]
    staff_rows = list(
        DailyActivity.objects.filter(day__gte=period.start, day__lte=period.end, staff__isnull=False)
        .values("staff_id", "staff__username", "staff__first_name", "staff__last_name")
        .annotate(n=Sum("count"))
        .order_by("-n", "staff__username")
    )
    staff = [
        {"name": f"{r['staff__first_name']} {r['staff__last_name']}".strip() or r["staff__username"], "count": r["n"]}
        for r in staff_rows
    ]
    staff_chart = _chart(
        "bar",
        [s["name"] for s in staff],
        [{"label": "Touchpoints logged", "data": [s["count"] for s in staff], "color": "primary"}],
        horizontal=True,
    )
    return {
        "kinds": kinds,
        "kind_chart": kind_chart,
        "kind_rows": kind_rows,
        "sentiment_chart": sentiment_chart,
        "sentiment_rows": sentiment_rows,
        "staff": staff,
        "staff_chart": staff_chart,
        "touchpoints_total": sum(r["total"] for r in kind_rows),
    }


def _followup_section(period: Period) -> dict:
    due: dict[date, int] = defaultdict(int)
    done: dict[date, int] = defaultdict(int)
    for r in DailyFollowUp.objects.filter(day__gte=period.start, day__lte=period.end):
        week = period.week_of(r.day)
        due[week] += r.due - r.cancelled
        done[week] += r.done
    rows = [{"week": w, "due": due[w], "done": done[w], "rate": _pct(done[w], due[w])} for w in period.week_starts]
    chart = _chart(
        "bar",
        period.labels,
        [{"label": "Completed %", "data": [r["rate"] for r in rows], "color": "success"}],
        percent=True,
    )
    total_due, total_done = sum(due.values()), sum(done.values())
    return {
        "followup_rows": rows,
        "followup_chart": chart,
        "followup_rate": _pct(total_done, total_due),
        "followups_due": total_due,
        "followups_done": total_done,
    }


def _message_section(period: Period) -> dict:
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for r in DailyMessage.objects.filter(day__gte=period.start, day__lte=period.end):
        counts[(period.week_of(r.day), r.outcome)] += r.count
    outcomes = (
        (DailyMessage.Outcome.SENT, "success"),
        (DailyMessage.Outcome.FAILED, "danger"),
        (DailyMessage.Outcome.UNSUBSCRIBED, "muted"),
    )
    chart = _chart(
        "bar",
        period.labels,
        [
            {"label": o.label, "data": [counts[(w, o.value)] for w in period.week_starts], "color": color}
            for o, color in outcomes
        ],
    )
    rows = [{"week": w, "counts": [counts[(w, o.value)] for o, _ in outcomes]} for w in period.week_starts]
    totals = {o.value: sum(counts[(w, o.value)] for w in period.week_starts) for o, _ in outcomes}
    return {"message_chart": chart, "message_rows": rows, "message_totals": totals}


def birthday_window(*, today: date, days: int = BIRTHDAY_DAYS) -> tuple[Q, dict[tuple[int, int], int]]:
    """A Q for birthdays in the next `days` days, and (month, day) -> days from today.

    29 February birthdays are celebrated on 28 February in other years.
    """
    offsets: dict[tuple[int, int], int] = {}
    for offset in range(days):
        d = today + timedelta(days=offset)
        offsets[(d.month, d.day)] = offset
        if d.month == 2 and d.day == 28 and not calendar.isleap(d.year):
            offsets[(2, 29)] = offset
    by_month: dict[int, list[int]] = defaultdict(list)
    for month, day in offsets:
        by_month[month].append(day)
    q = Q()
    for month, month_days in by_month.items():
        q |= Q(birthday_month=month, birthday_day__in=sorted(month_days))
    return q, offsets


def _month_day(customer: Customer) -> tuple[int, int]:
    """(month, day) of a birthday read by birthdays_in_month, which only returns customers who have one."""
    assert customer.birthday_month is not None and customer.birthday_day is not None
    return customer.birthday_month, customer.birthday_day


def birthdays_in_month(*, month: int, first_day: int, last_day: int):
    """Live customers with a birthday between two days of one month, in (month, day) index order."""
    # A range (not IN) so the (month, day) index yields rows in order and a LIMIT stops it early.
    return (
        Customer.objects.filter(
            birthday_month=month, birthday_day__gte=first_day, birthday_day__lte=last_day, is_archived=False
        )
        .order_by("birthday_month", "birthday_day", "pk")
        .only(
            "pk",
            "first_name",
            "last_name",
            "preferred_name",
            "birthday_day",
            "birthday_month",
            "birthday_year",
            "health",
        )
    )


def upcoming_birthdays(
    *, today: date, limit: int = LIST_LIMIT, snapshot: DailySnapshot | None = None
) -> tuple[list[dict], int]:
    """Customers whose birthday falls in the next 14 days, soonest first, and how many there are.

    One query per calendar month in the window (at most two), each read in the order of the
    (month, day) index and cut at `limit`; the count comes from today's nightly snapshot.
    """
    q, offsets = birthday_window(today=today)
    months = list(dict.fromkeys(m for m, _ in sorted(offsets, key=lambda month_day: offsets[month_day])))
    people: list[Customer] = []
    # One query per month in the window even when the first fills the list: the count of
    # queries depends on the date only, never on how many customers there are.
    for month in months:
        days = sorted(d for m, d in offsets if m == month)  # contiguous within a month
        people += list(birthdays_in_month(month=month, first_day=days[0], last_day=days[-1])[:limit])
    people.sort(key=lambda c: (offsets[_month_day(c)], c.pk))
    people = people[:limit]
    rows = []
    for c in people:
        when = today + timedelta(days=offsets[_month_day(c)])
        rows.append(
            {
                "customer": c,
                "url": customer_card_url(c.pk),
                "date": when,
                "in_days": (when - today).days,
                "turns": when.year - c.birthday_year if c.birthday_year else None,
            }
        )
    if snapshot is not None and snapshot.day == today:
        count = snapshot.birthday_count
    else:
        count = Customer.objects.filter(q, is_archived=False).count()
    return rows, count


def cadences_in_use() -> list[int]:
    """The distinct keep-in-touch cadences customers have (the shop default aside)."""
    # order_by(): the model's default ordering would otherwise join the DISTINCT (a 100,000-row sort).
    cadences = Customer.objects.filter(cadence_days__isnull=False).order_by().values_list("cadence_days", flat=True)
    return sorted(c for c in cadences.distinct() if c is not None)


def drifting_queryset(*, now: datetime, cadences: list[int]):
    """Cooling or cold now, yet a month ago their last touchpoint was within their cadence (warm then)."""
    default = ShopSettings.load().default_cadence_days
    then = now - timedelta(days=DRIFT_LOOKBACK_DAYS)
    warm_then = Q(cadence_days__isnull=True, last_touchpoint_at__gte=recency_bound(now=then, cadence_days=default))
    for cadence in cadences:
        warm_then |= Q(cadence_days=cadence, last_touchpoint_at__gte=recency_bound(now=then, cadence_days=cadence))
    return Customer.objects.filter(
        warm_then,
        is_archived=False,
        health__in=[Customer.Health.COOLING, Customer.Health.COLD],
        last_touchpoint_at__lte=then,
    )


def drifting_away(
    *, now: datetime, limit: int = LIST_LIMIT, snapshot: DailySnapshot | None = None
) -> tuple[list[dict], int]:
    """The closest customers drifting away (see drifting_queryset), with whether a follow-up is open.

    With a snapshot, its list (worked out last night) is re-read, leaving out anyone who has
    warmed up since; without one, it is computed now.
    """
    if snapshot is not None:
        qs = Customer.objects.filter(
            pk__in=snapshot.drifting_ids[:DRIFTING_KEPT],
            is_archived=False,
            health__in=[Customer.Health.COOLING, Customer.Health.COLD],
        )
        count = snapshot.drifting_count
    else:
        qs = drifting_queryset(now=now, cadences=cadences_in_use())
        count = None
    open_followup = FollowUp.objects.filter(customer=OuterRef("pk"), status__in=FollowUp.OPEN_STATUSES)
    people = list(
        qs.annotate(has_followup=Exists(open_followup))
        .order_by("-closeness", "pk")
        .only("pk", "first_name", "last_name", "preferred_name", "health", "last_touchpoint_at", "closeness")[:limit]
    )
    rows = [{"customer": c, "url": customer_card_url(c.pk)} for c in people]
    return rows, qs.count() if count is None else count


def dashboard_for(*, weeks: int, today: date, now: datetime) -> dict:
    """Everything the dashboard shows, in a fixed number of queries."""
    period = Period.ending(today=today, weeks=weeks)
    context: dict[str, Any] = {"period": period}
    context.update(_health_section(period))
    context.update(_activity_section(period))
    context.update(_followup_section(period))
    context.update(_message_section(period))
    # Last night's lists, if there was a last night; else worked out now.
    latest = context["latest"] if context["latest"] and context["latest"].day >= today - timedelta(days=1) else None
    context["birthdays"], context["birthday_count"] = upcoming_birthdays(today=today, snapshot=latest)
    context["drifting"], context["drifting_count"] = drifting_away(now=now, snapshot=latest)
    context["charts"] = {
        name: context[name]
        for name in (
            "health_chart",
            "kind_chart",
            "repeat_chart",
            "followup_chart",
            "staff_chart",
            "referrer_chart",
            "sentiment_chart",
            "message_chart",
        )
    }
    return context


# --- the Dunbar rings ------------------------------------------------------------------------

# Where each ring's people sit in the SVG (viewBox 0 0 400 400): band edges and the tracks for dots.
RING_BANDS = {5: (0, 52), 15: (52, 100), 50: (100, 148), 150: (148, 198)}
RING_TRACKS = {5: [30], 15: [76], 50: [124], 150: [162, 184]}
DOT_RADIUS = {5: 11, 15: 8, 50: 6.5, 150: 5.5}


def _ring_dots(members: list[dict]) -> list[dict]:
    """Positions on concentric tracks for each member, evenly spread round their ring."""
    by_ring: dict[int, list[dict]] = defaultdict(list)
    for m in members:
        by_ring[m["ring"]].append(m)
    dots = []
    for ring, people in by_ring.items():
        tracks = RING_TRACKS[ring]
        per_track = math.ceil(len(people) / len(tracks))
        for i, person in enumerate(people):
            track, slot = divmod(i, per_track)
            on_track = min(per_track, len(people) - track * per_track)
            angle = -math.pi / 2 + 2 * math.pi * slot / on_track + (0.5 * track * 2 * math.pi / max(on_track, 1))
            radius = tracks[track]
            dots.append(
                {
                    **person,
                    "x": round(200 + radius * math.cos(angle), 1),
                    "y": round(200 + radius * math.sin(angle), 1),
                    "r": DOT_RADIUS[ring],
                }
            )
    return dots


def _dots_svg(dots: list[dict]) -> SafeString:
    """The SVG markup of every dot. Built here rather than by the template engine or format_html
    (150 dots cost tens of milliseconds there); every customer value goes through html.escape."""
    parts = []
    for d in dots:
        c = d["customer"]
        name = html.escape(c.full_name)
        initials = (
            f'<text class="initials" x="{d["x"]}" y="{d["y"]}" dy="3" text-anchor="middle">{html.escape(d["initials"])}</text>'
            if d["ring"] == RINGS[0]
            else ""
        )
        parts.append(
            f'<a href="{html.escape(d["url"])}" aria-label="{name}, ring of {d["ring"]}">'
            f'<circle class="dot dot-{html.escape(c.health)}" cx="{d["x"]}" cy="{d["y"]}" r="{d["r"]}">'
            f"<title>{name} (#{d['rank']}, {html.escape(c.get_health_display().lower())})</title></circle>{initials}</a>"
        )
    return SafeString("".join(parts))


def _names_list(members: list[dict]) -> SafeString:
    """<li> links for a ring's names (escaped as in _dots_svg)."""
    return SafeString(
        "".join(
            f'<li><a href="{html.escape(m["url"])}">{html.escape(m["customer"].full_name)}</a></li>' for m in members
        )
    )


def _initials(c: Customer) -> str:
    return (c.display_name[:1] + (c.last_name[:1] if c.last_name else "")).upper()


def rings_for(*, user: User | None, today: date) -> dict:
    """The 150 closest (the shop's, or `user`'s own), ring by ring, and who slipped outwards since last week."""
    qs = Customer.objects.filter(is_archived=False, last_touchpoint_at__isnull=False)
    if user is not None:
        qs = qs.filter(owner=user)
    people = list(
        qs.order_by("-closeness", "pk").only(
            "pk", "first_name", "last_name", "preferred_name", "health", "closeness", "stage"
        )[: RINGS[-1]]
    )
    members: list[dict[str, Any]] = [
        {
            "customer": c,
            "rank": rank,
            "ring": ring_for_rank(rank),
            "url": customer_card_url(c.pk),
            "initials": _initials(c),
        }
        for rank, c in enumerate(people, start=1)
    ]
    now_ring = {m["customer"].pk: m["ring"] for m in members}
    # The snapshot to compare with: the latest one at least a week old, else the oldest before today.
    snapshots = RingSnapshot.objects.filter(user=user) if user else RingSnapshot.objects.filter(user__isnull=True)
    compare_day = snapshots.filter(day__lte=today - timedelta(days=SLIPPING_COMPARE_DAYS)).aggregate(d=Max("day"))["d"]
    if compare_day is None:
        compare_day = snapshots.filter(day__lt=today).order_by("day").values_list("day", flat=True).first()
    slipping = []
    if compare_day is not None:
        before = (
            snapshots.filter(day=compare_day, ring__lt=RINGS[-1])
            .select_related("customer")
            .only(
                "ring",
                "rank",
                "customer__id",
                "customer__first_name",
                "customer__last_name",
                "customer__preferred_name",
                "customer__health",
                "customer__is_archived",
            )
            .order_by("rank")
        )
        for snap in before:
            ring_now = now_ring.get(snap.customer_id)
            if ring_now is None or ring_now > snap.ring:
                slipping.append(
                    {
                        "customer": snap.customer,
                        "url": customer_card_url(snap.customer_id),
                        "was": snap.ring,
                        "now": ring_now,
                    }
                )
    rings: list[dict[str, Any]] = [
        {"size": size, "members": [m for m in members if m["ring"] == size]} for size in RINGS
    ]
    for ring in rings:
        ring["names_html"] = _names_list(ring["members"])
    dots = _ring_dots(members)
    return {
        "members": members,
        "rings": rings,
        "dots": dots,
        "dots_svg": _dots_svg(dots),
        "bands": [
            {"size": size, "outer": RING_BANDS[size][1], "label_y": 200 - RING_BANDS[size][1] + 11}
            for size in reversed(RINGS)
        ],
        "slipping": slipping,
        "compare_day": compare_day,
    }
