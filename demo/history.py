"""What a year of running the demo shop left behind, written after its customers and touchpoints.

Automated emails over the year in every outbox state (with the planners' own occasion keys, so
the real planners never plan one of them again), unsubscribes, follow-ups done and missed,
segments, a sent newsletter, a past and an upcoming event, gift codes, a "created" history entry
per customer, and the dashboard's health and stage trend worked out as of past days by
touchpoints.figures (the rules themselves live in customers.health). Bulk inserts, so 100,000 customers stay quick.
"""

import json
import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import F

from automations.models import Automation, EmailOptOut, OutboundMessage
from automations.schedule import GREETING_TIME, local_datetime
from community.models import Event, Invitation, Newsletter
from community.rendering import newsletter_render_for
from community.services import (
    EVENT_INVITATION,
    NEWSLETTER,
    invitation_answer,
    newsletter_plan,
    segment_create,
)
from crm.models import ShopSettings
from customers.birthdays import next_occurrence
from customers.models import Customer, FollowUp, Tag
from dashboard.services import daily_snapshot_take, dashboard_backfill, dashboard_nightly
from gifts.management.commands.seed_demo_gifts import demo_gifts_create
from touchpoints.figures import customer_figures_recompute_all
from touchpoints.models import Touchpoint

BATCH = 20_000
TREND_MAX_TOUCHPOINTS = 250_000
# (status, weight, reason) for an automated email whose time has come: most were sent.
OUTCOMES = [
    (OutboundMessage.Status.SENT, 880, ""),
    (OutboundMessage.Status.FAILED, 25, "550 Mailbox unavailable"),
    (OutboundMessage.Status.SUPPRESSED, 40, "Suppressed address (an earlier bounce)"),
    (OutboundMessage.Status.CANCELLED, 45, "They visited before it went out"),
    (OutboundMessage.Status.UNKNOWN, 10, "The worker stopped mid-send"),
]
SUBJECTS = {
    Automation.Kind.THANK_YOU: "Thank you for coming in",
    Automation.Kind.BIRTHDAY: "Happy birthday from all of us",
    Automation.Kind.WE_MISS_YOU: "We miss you!",
}
PRIORITY = {Automation.Kind.BIRTHDAY: 10, Automation.Kind.THANK_YOU: 40, Automation.Kind.WE_MISS_YOU: 60}
MESSAGE_COLUMNS = [
    "customer_id",
    "recipient_key",
    "kind",
    "occasion_key",
    "status",
    "planned_at",
    "priority",
    "to_email",
    "subject",
    "body_text",
    "body_html",
    "personal_line",
    "context",
    "attempts",
    "sent_at",
    "last_error",
    "status_reason",
    "message_id",
    "created_at",
    "updated_at",
]


def year_history_seed(
    *,
    rng: random.Random,
    customer_ids: list[int],
    staff_ids: list[int],
    now: datetime,
    log: Callable = print,
) -> None:
    """Everything but the customers and touchpoints; `customer_ids` are the ones just loaded."""
    from demo.management.commands.seed_demo import bulk_insert

    steps: list[tuple[str, Callable[[], object]]] = [
        ("created history", lambda: _created_history(customer_ids, now)),
        ("emails over the year", lambda: _outbox_year(rng, customer_ids, now, bulk_insert)),
        ("follow-ups over the year", lambda: _followups_year(rng, customer_ids, staff_ids, now, bulk_insert)),
        ("gift codes", lambda: demo_gifts_create(seed=rng.randrange(1_000_000), now=now)),
        ("community", lambda: _community(rng, staff_ids, now)),
        ("health and stage trend", lambda: _trend(customer_ids, now)),
    ]
    for name, step in steps:
        t0 = time.monotonic()
        note = step()
        log(f"  {name}: {time.monotonic() - t0:.1f} s" + (f" ({note})" if isinstance(note, str) else ""))


def _created_history(customer_ids: list[int], now: datetime) -> None:
    """One "created" (+) history row per customer, by whoever added them, when they joined."""
    model = Customer.history.model
    quote = connection.ops.quote_name
    shared = [f.attname for f in model._meta.concrete_fields if not f.attname.startswith("history_")]
    columns = ", ".join(quote(c) for c in shared)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}, history_date, history_type, history_user_id,"  # noqa: S608
            f" history_change_reason) SELECT {columns}, created_at, '+', created_by_id, %s"
            f" FROM {quote(Customer._meta.db_table)} WHERE id BETWEEN %s AND %s",
            ["Demo data", customer_ids[0], customer_ids[-1]],
        )


def _outcome(rng: random.Random, planned_at: datetime, now: datetime) -> tuple[str, datetime | None, str, int]:
    """(status, sent_at, reason, attempts) for a message planned at `planned_at`."""
    if planned_at > now:
        return OutboundMessage.Status.PLANNED, None, "", 0
    status, _, reason = rng.choices(OUTCOMES, weights=[o[1] for o in OUTCOMES])[0]
    sent_at = planned_at + timedelta(seconds=rng.randint(20, 600)) if status == OutboundMessage.Status.SENT else None
    attempts = {
        OutboundMessage.Status.SENT: 1,
        OutboundMessage.Status.FAILED: 1,
        OutboundMessage.Status.UNKNOWN: 1,
    }.get(status, 0)
    return status, sent_at, reason, attempts


def _message_row(rng, *, customer_id, email, kind, occasion, planned_at, context, now, opted_out_at=None) -> tuple:
    status: str
    if opted_out_at is not None and planned_at >= opted_out_at:
        status, sent_at, reason, attempts = OutboundMessage.Status.SUPPRESSED, None, "Unsubscribed", 0
    else:
        status, sent_at, reason, attempts = _outcome(rng, planned_at, now)
    return (
        customer_id,
        f"c:{customer_id}",
        kind,
        occasion,
        status,
        planned_at,
        PRIORITY.get(kind, 50),
        email,
        SUBJECTS.get(kind, ""),
        "",
        "",
        "",
        json.dumps(context),
        attempts,
        sent_at,
        reason if status == OutboundMessage.Status.FAILED else "",
        "" if status == OutboundMessage.Status.FAILED else reason,
        f"<{kind}.{occasion}.{customer_id}@demo.invalid>" if sent_at else "",
        planned_at,
        sent_at or planned_at,
    )


def _outbox_year(rng: random.Random, customer_ids: list[int], now: datetime, bulk_insert) -> None:
    """Thank-yous (one per 30 days at most), birthday greetings and we-miss-yous over the past year."""
    shop = ShopSettings.load()
    tz = shop.tz
    first, last = customer_ids[0], customer_ids[-1]
    reachable = Customer.objects.filter(pk__gte=first, pk__lte=last, email_consent=True, is_archived=False).exclude(
        email=""
    )
    people = {
        pk: (email, cadence, last_at, day, month)
        for pk, email, cadence, last_at, day, month in reachable.values_list(
            "pk", "email", "cadence_days", "last_touchpoint_at", "birthday_day", "birthday_month"
        ).iterator(2000)
    }
    # About one in a hundred left the mailing list some time during the year.
    leavers = rng.sample(sorted(people), min(len(people), max(3, len(people) // 100)))
    opted_out = {pk: now - timedelta(days=rng.uniform(1, 360)) for pk in leavers}
    opt_out_rows = [(pk, rng.choice(list(EmailOptOut.Via.values)), at) for pk, at in opted_out.items()]
    bulk_insert(EmailOptOut, ["customer_id", "via", "created_at"], opt_out_rows)
    Customer.objects.filter(pk__in=list(opted_out)).update(email_consent=False)

    rows: list[tuple] = []

    def add(**kwargs) -> None:
        rows.append(_message_row(rng, now=now, opted_out_at=opted_out.get(kwargs["customer_id"]), **kwargs))
        if len(rows) >= BATCH:
            bulk_insert(OutboundMessage, MESSAGE_COLUMNS, rows)
            rows.clear()

    year_ago = now - timedelta(days=365)
    purchases = (
        Touchpoint.objects.filter(
            customer_id__gte=first, customer_id__lte=last, kind=Touchpoint.Kind.PURCHASE, happened_at__gte=year_ago
        )
        .order_by("customer_id", "happened_at")
        .values_list("pk", "customer_id", "happened_at")
    )
    last_thanked: dict[int, datetime] = {}
    for pk, customer_id, happened_at in purchases.iterator(chunk_size=BATCH):
        person = people.get(customer_id)
        planned_at = happened_at + timedelta(days=1)
        # The planner thanks the day after; today's purchases are still the planner's to do.
        if person is None or planned_at > now - timedelta(hours=1):
            continue
        previous = last_thanked.get(customer_id)
        if previous is not None and happened_at - previous < timedelta(days=30):
            continue
        last_thanked[customer_id] = happened_at
        add(
            customer_id=customer_id,
            email=person[0],
            kind=Automation.Kind.THANK_YOU,
            occasion=f"thankyou:{pk}",
            planned_at=planned_at,
            context={"touchpoint_id": pk, "products": []},
        )
    today = now.astimezone(tz).date()
    for customer_id, (email, cadence, last_at, day, month) in people.items():
        if day and month:
            birthday = next_occurrence(day=day, month=month, today=today - timedelta(days=365))
            planned_at = local_datetime(birthday - timedelta(days=7), GREETING_TIME, tz)
            if planned_at < now:  # later ones are the planner's
                add(
                    customer_id=customer_id,
                    email=email,
                    kind=Automation.Kind.BIRTHDAY,
                    occasion=f"birthday:{birthday.year}",
                    planned_at=planned_at,
                    context={"birthday": birthday.isoformat()},
                )
        lapse = timedelta(days=cadence or shop.default_cadence_days)
        if last_at is not None and last_at + lapse < now - timedelta(days=1):
            local_last = last_at.astimezone(tz)
            add(
                customer_id=customer_id,
                email=email,
                kind=Automation.Kind.WE_MISS_YOU,
                occasion=f"wemissyou:{local_last.date().isoformat()}",
                planned_at=local_datetime((local_last + lapse).date(), GREETING_TIME, tz),
                context={},
            )
    bulk_insert(OutboundMessage, MESSAGE_COLUMNS, rows)


def _followups_year(
    rng: random.Random, customer_ids: list[int], staff_ids: list[int], now: datetime, bulk_insert
) -> None:
    """Follow-ups due over the past year: most done around their day, some cancelled, some missed."""
    today = now.astimezone(ShopSettings.load().tz).date()
    reasons = [
        "Ask how the holiday was",
        "Thank them for the review",
        "Check the cake order",
        "Call about catering",
        "Make it right: a cold coffee",
        "Invite to the tasting evening",
        "Ask about the new puppy",
    ]
    chosen = [rng.choice(customer_ids) for _ in range(max(260, min(len(customer_ids) // 3, 20_000)))]
    rows = []
    for pk in chosen:
        due = today - timedelta(days=rng.randint(8, 365))
        status = rng.choices(
            [FollowUp.Status.DONE, FollowUp.Status.CANCELLED, FollowUp.Status.OPEN], weights=[78, 7, 15]
        )[0]
        closed_at = None
        if status != FollowUp.Status.OPEN:
            closed_at = datetime.combine(
                due + timedelta(days=rng.choice([0, 0, 0, 1, 2, 5])), GREETING_TIME, tzinfo=now.tzinfo
            )
        by = rng.choice(staff_ids)
        # Opened a week before they were due, as staff would have.
        opened = datetime.combine(due - timedelta(days=7), GREETING_TIME, tzinfo=now.tzinfo)
        rows.append(
            (pk, by, rng.choice(reasons), due, status, "manual", by, opened, closed_at, by if closed_at else None)
        )
    bulk_insert(
        FollowUp,
        [
            "customer_id",
            "assignee_id",
            "reason",
            "due_date",
            "status",
            "source",
            "created_by_id",
            "created_at",
            "closed_at",
            "closed_by_id",
        ],
        rows,
    )


def _community(rng: random.Random, staff_ids: list[int], now: datetime) -> None:
    """Three segments, a newsletter sent six weeks ago with its report, a past and an upcoming event."""
    from django.contrib.auth.models import User

    owner = User.objects.filter(username="owner").first() or User.objects.get(pk=staff_ids[0])
    tags = dict(Tag.objects.values_list("name", "pk"))
    fans = segment_create(
        name="Newsletter fans", filters={"tags": [tags.get("newsletter fan")], "consent": "yes"}, created_by=owner
    )
    segment_create(
        name="Regulars who are cooling", filters={"stage": ["regular"], "health": ["cooling"]}, created_by=owner
    )
    segment_create(name="Birthdays in December", filters={"birthday_months": [12]}, created_by=owner)

    sent_at = now - timedelta(days=42)
    newsletter = Newsletter.objects.create(
        subject="Autumn at {shop_name}",
        segment=fans,
        created_by=owner,
        status=Newsletter.Status.SCHEDULED,
        send_at=sent_at,
        body="Hello {preferred_name},\n\nThe **new autumn roast** is in, and the pumpkin loaf is back.\n\n"
        "- Tasting on Saturday from 10:00\n- Bring a friend: their first coffee is on us\n\nSee you soon!",
    )
    newsletter_plan(newsletter_id=newsletter.pk, now=sent_at)
    # Sent six weeks ago as a real one would have been: the outbox sent (or failed, or held back) every
    # row long since, so its report shows sends and nothing still waiting, and "planned" ("Sent to
    # outbox") is its last status. Written two days before, as its history and date say, not today.
    rows = OutboundMessage.objects.filter(kind=NEWSLETTER, occasion_key=newsletter.occasion_key)
    _settle(rng, rows, now)
    # What the sender records on a sent row: the subject and body as that customer got them.
    for row in rows.filter(status=OutboundMessage.Status.SENT).select_related("customer"):
        rendered = newsletter_render_for(newsletter=newsletter, customer=row.customer)
        row.subject, row.body_text, row.body_html = rendered.subject[:200], rendered.text, rendered.html
        row.save(update_fields=["subject", "body_text", "body_html"])
    written = sent_at - timedelta(days=2)
    Newsletter.objects.filter(pk=newsletter.pk).update(created_at=written, updated_at=sent_at)
    newsletter.history.filter(history_type="+").update(history_date=written)
    newsletter.history.filter(history_type="~").update(history_date=sent_at)

    reachable = Customer.objects.filter(is_archived=False, last_touchpoint_at__isnull=False)
    for title, days, place in (
        ("Summer tasting evening", -24, "In the shop"),
        ("Christmas charity bake sale", 12, "The church hall, Mill Lane"),
    ):
        starts_at = local_datetime(now.date() + timedelta(days=abs(days)), GREETING_TIME, ShopSettings.load().tz)
        starts_at = starts_at.replace(hour=18)
        event = Event.objects.create(
            title=title,
            description="Drinks, nibbles and good company. Bring a friend!",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            place=place,
            capacity=30,
            max_guests=2,
            created_by=owner,
        )
        guests = list(reachable.order_by("-closeness", "pk").values_list("pk", "email", "email_consent")[:26])
        invited_at = now - timedelta(days=abs(days) + 14 if days < 0 else 9)
        Invitation.objects.bulk_create([Invitation(event=event, customer_id=pk) for pk, _, _ in guests])
        OutboundMessage.objects.bulk_create(
            [
                OutboundMessage(
                    customer_id=pk,
                    recipient_key=f"c:{pk}",
                    kind=EVENT_INVITATION,
                    occasion_key=f"event:{event.pk}",
                    status=OutboundMessage.Status.SENT,
                    planned_at=invited_at,
                    sent_at=invited_at + timedelta(minutes=2),
                    priority=70,
                    to_email=email,
                    subject=f"You're invited: {title}",
                )
                for pk, email, consent in guests
                if consent and email
            ]
        )
        # Answers go through the service (seats and the waiting list), while the event is ahead.
        for invitation in Invitation.objects.filter(event=event).order_by("pk"):
            roll = rng.random()
            if roll < 0.55:
                invitation_answer(invitation=invitation, coming=True, guests=rng.choice([0, 0, 1, 2]))
            elif roll < 0.75:
                invitation_answer(invitation=invitation, coming=False)
        Invitation.objects.filter(event=event).exclude(answered_at=None).update(
            answered_at=invited_at + timedelta(days=2)
        )
        if days < 0:  # it happened: most who said yes came and were checked in at the door
            Event.objects.filter(pk=event.pk).update(
                starts_at=now - timedelta(days=-days), ends_at=now - timedelta(days=-days) + timedelta(hours=2)
            )
            event.refresh_from_db()
            going = Invitation.objects.filter(event=event, answer=Invitation.Answer.GOING)
            came = [pk for pk in going.values_list("pk", flat=True) if rng.random() < 0.85]
            Invitation.objects.filter(pk__in=came).update(
                checked_in_at=event.starts_at + timedelta(minutes=15), checked_in_by_id=rng.choice(staff_ids)
            )


def _settle(rng: random.Random, messages, now: datetime) -> None:
    """Planned rows whose time has passed get what became of them: mostly sent, a few not."""
    due = list(messages.filter(status=OutboundMessage.Status.PLANNED, planned_at__lte=now).values_list("pk", flat=True))
    by_status: dict[str, list[int]] = {}
    for pk in due:
        by_status.setdefault(rng.choices(OUTCOMES, weights=[o[1] for o in OUTCOMES])[0][0], []).append(pk)
    for status, pks in by_status.items():
        reason = next(r for s, _, r in OUTCOMES if s == status)
        failed = status == OutboundMessage.Status.FAILED
        OutboundMessage.objects.filter(pk__in=pks).update(
            status=status,
            attempts=0 if status in ("suppressed", "cancelled") else 1,
            sent_at=F("planned_at") + timedelta(minutes=4) if status == OutboundMessage.Status.SENT else None,
            last_error=reason if failed else "",
            status_reason="" if failed else reason,
        )


def _trend(customer_ids: list[int], now: datetime) -> str | None:
    """The dashboard's health and stage counts as they were every week over the year, then every
    figure back to today and the dashboard's rollups. Each week is a whole recompute (tens of seconds at the benchmark's
    2,000,000 touchpoints), so above TREND_MAX_TOUCHPOINTS the trend starts tonight instead."""
    tz = ShopSettings.load().tz
    today = now.astimezone(tz).date()
    if Touchpoint.objects.order_by().count() > TREND_MAX_TOUCHPOINTS:
        return "skipped above 250,000 touchpoints: the nightly task records it from today (make run: dashboard_refresh)"
    day: date = today - timedelta(days=364)
    while day < today:
        end_of_day = local_datetime(day + timedelta(days=1), GREETING_TIME, tz).replace(hour=0)
        customer_figures_recompute_all(now=end_of_day)
        daily_snapshot_take(day=day, now=end_of_day)
        day += timedelta(days=7)
    # Today as the nightly run leaves it (figures, snapshot, rings), and the activity, message and
    # follow-up rollups of the whole year (what `dashboard_refresh --backfill-days` does).
    dashboard_nightly(now=now)
    dashboard_backfill(start=today - timedelta(days=400), end=today)
    return None
