"""Writes for the automations: owner settings, templates, the outbox rows, unsubscribes, hooks."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import CharField, DateTimeField, Expression, F, QuerySet, Value
from django.db.models.functions import Cast, Concat, JSONObject
from django.utils import timezone

from automations.eligibility import customers_eligible
from automations.models import Automation, EmailOptOut, MessageTemplate, OutboundMessage, OutboxControl
from automations.schedule import next_sending_time, next_working_day
from automations.templating import CODE_KINDS, DEFAULT_TEMPLATES, html_clean, placeholder_errors
from crm.clock import shop_today
from crm.models import ShopSettings
from crm.tasks import enqueue_on_commit
from customers.card_cache import TIMELINE, card_changed, cards_all_changed
from customers.models import Customer, FollowUp
from customers.services import followup_open

# Lower goes first when the 7-day cap makes messages wait (the user guide lists the order).
PRIORITY = {
    "digest": 5,
    "birthday": 10,
    "gift_expiry": 20,
    "referral": 30,
    "loyalty": 35,
    "thankyou": 40,
    "wemissyou": 60,
    # Community (issue #7): capped too, and they give way to personal notes when the cap bites.
    # (Event reminders are not capped: the customer asked to come.)
    "event_invitation": 70,
    "newsletter": 80,
}
# Automated customer emails: at most CAP_PER_WEEK of these per customer in any 7 days.
CAPPED_KINDS = frozenset(PRIORITY) - {"digest"}
CAP_PER_WEEK = 2
# The status reason of a row refused for good (5xx): bulk resend leaves these alone.
REFUSED = "Refused by the mail server"

AUTOMATION_DEFAULTS: dict[str, dict] = {
    Automation.Kind.THANK_YOU: {"days": 1},
    Automation.Kind.BIRTHDAY: {"days": 7, "code_valid_days": 30, "code_value": 10},
    Automation.Kind.GIFT_EXPIRY: {"days": 7},
    Automation.Kind.WE_MISS_YOU: {},
    Automation.Kind.LOYALTY: {"every_k": 5, "code_valid_days": 60, "code_value": 10},
    Automation.Kind.REFERRAL: {"with_code": True, "code_valid_days": 60, "code_value": 10},
    Automation.Kind.MAKE_IT_RIGHT: {},
    Automation.Kind.DIGEST: {},
}


def automation_get(kind: str) -> Automation:
    """The owner's settings for `kind`, made with the defaults on first use."""
    automation, _ = Automation.objects.get_or_create(kind=kind, defaults=AUTOMATION_DEFAULTS.get(kind, {}))
    return automation


def automations_all() -> list[Automation]:
    """Every automation's settings, in the order of Automation.Kind (missing rows are made)."""
    rows = {a.kind: a for a in Automation.objects.all()}
    return [rows.get(kind) or automation_get(kind) for kind in Automation.Kind.values]


def template_get(kind: str) -> MessageTemplate:
    """The owner's template for a customer email kind, made from the friendly default on first use."""
    default = DEFAULT_TEMPLATES[kind]
    template, _ = MessageTemplate.objects.get_or_create(
        kind=kind, defaults={"subject": default.subject, "body_text": default.body_text}
    )
    return template


@transaction.atomic
def automation_update(*, automation: Automation, updated_by: User, **fields) -> Automation:
    """Change an automation's switch and numbers; planners read them when they next run."""
    for name, value in fields.items():
        setattr(automation, name, value)
    automation.updated_by = updated_by
    automation.full_clean()
    automation.save()
    return automation


def template_errors(*, kind: str, subject: str, body_text: str, body_html: str) -> list[str]:
    """Every problem with a template's placeholders, for the preview and for saving."""
    allow_gift = kind in CODE_KINDS
    errors = []
    for label, text in (("Subject", subject), ("Text", body_text), ("HTML", body_html)):
        errors += [f"{label}: {e}" for e in placeholder_errors(text, allow_gift=allow_gift)]
    return errors


@transaction.atomic
def message_template_update(
    *, kind: str, updated_by: User, subject: str, body_text: str, body_html: str = ""
) -> MessageTemplate:
    """Save the owner's template; refuses (ValidationError) one with an unknown placeholder."""
    errors = template_errors(kind=kind, subject=subject, body_text=body_text, body_html=body_html)
    if errors:
        raise ValidationError(errors)
    template = template_get(kind)
    template.subject = subject
    template.body_text = body_text
    template.body_html = html_clean(body_html) if body_html.strip() else ""
    template.updated_by = updated_by
    template.full_clean()
    template.save()
    return template


@transaction.atomic
def outbox_pause(*, paused: bool, changed_by: User) -> OutboxControl:
    """Pause (or resume) all sending. Paused messages wait with a reason; nothing is dropped."""
    control = OutboxControl.load()
    control.paused = paused
    control.changed_at = timezone.now()
    control.changed_by = changed_by
    control.save()
    return control


def message_enqueue(message_id: int) -> None:
    """After commit, ask a worker to send this row soon. Never fails the caller: the sweep is the backstop."""
    from automations.tasks import message_send_task

    enqueue_on_commit(message_send_task, backstop="the outbox sweep (every minute)", message_id=message_id)


@transaction.atomic
def message_resend(*, message: OutboundMessage, resent_by: User) -> OutboundMessage:
    """The owner resends a `failed` row: planned again now, with a fresh retry window.

    `attempts` is not reset: it tells this attempt's result from a late one of an earlier attempt.
    """
    now = timezone.now()
    changed = OutboundMessage.objects.filter(pk=message.pk, status=OutboundMessage.Status.FAILED).update(
        **_resend_fields(resent_by, now)
    )
    if not changed:
        raise ValidationError("Only a message whose sending failed can be resent this way.")
    card_changed([message.customer_id], [TIMELINE])  # a staff message has no customer: no card changes
    message.refresh_from_db()
    message_enqueue(message.pk)
    return message


@transaction.atomic
def message_resend_unknown(*, message: OutboundMessage, resent_by: User, confirmed: bool) -> OutboundMessage:
    """The owner resends an `unknown` row knowing it may arrive twice; refused unless `confirmed`."""
    if not confirmed:
        raise ValidationError("Tick the box to confirm: this message may already have arrived.")
    now = timezone.now()
    changed = OutboundMessage.objects.filter(pk=message.pk, status=OutboundMessage.Status.UNKNOWN).update(
        **_resend_fields(resent_by, now)
    )
    if not changed:
        raise ValidationError("Only a message that may have arrived can be resent this way.")
    message.refresh_from_db()
    message_enqueue(message.pk)
    return message


@transaction.atomic
def outbox_resend_failed(*, resent_by: User) -> int:
    """Every `failed` row the server did not refuse for good is planned again, each with a fresh window.

    Rows refused with a 5xx stay failed (their address is suppressed: sending again would only
    suppress them); `unknown` rows are never included. The sweep sends them; returns how many.
    """
    resent = (
        OutboundMessage.objects.filter(status=OutboundMessage.Status.FAILED)
        .exclude(status_reason=REFUSED)
        .update(**_resend_fields(resent_by, timezone.now()))
    )
    if resent:
        cards_all_changed()
    return resent


def _resend_fields(resent_by: User, now: datetime) -> dict:
    return {
        "status": OutboundMessage.Status.PLANNED,
        "planned_at": now,
        "next_attempt_at": None,
        "first_attempt_at": None,
        "handed_over_at": None,
        "status_reason": f"Resent by {resent_by.get_username()}",
        "updated_at": now,
    }


@transaction.atomic
def message_approve(*, message: OutboundMessage, approved_by: User, personal_line: str = "") -> OutboundMessage:
    """Staff approve a draft (with their personal line): it is planned and sent in sending hours."""
    now = timezone.now()
    changed = OutboundMessage.objects.filter(pk=message.pk, status=OutboundMessage.Status.DRAFT).update(
        status=OutboundMessage.Status.PLANNED,
        personal_line=personal_line.strip(),
        status_reason=f"Approved by {approved_by.get_username()}",
        updated_at=now,
    )
    if not changed:
        raise ValidationError("This message is no longer waiting for review.")
    card_changed([message.customer_id], [TIMELINE])  # a staff message has no customer: no card changes
    message.refresh_from_db()
    if message.planned_at <= now:
        message_enqueue(message.pk)
    return message


@transaction.atomic
def message_skip(*, message: OutboundMessage, skipped_by: User) -> OutboundMessage:
    """Staff decide a draft should not go out."""
    changed = OutboundMessage.objects.filter(pk=message.pk, status=OutboundMessage.Status.DRAFT).update(
        status=OutboundMessage.Status.CANCELLED,
        status_reason=f"Skipped by {skipped_by.get_username()}",
        updated_at=timezone.now(),
    )
    if not changed:
        raise ValidationError("This message is no longer waiting for review.")
    card_changed([message.customer_id], [TIMELINE])  # a staff message has no customer: no card changes
    message.refresh_from_db()
    return message


@transaction.atomic
def customer_unsubscribe(*, customer: Customer, via: str) -> bool:
    """Turn email consent off, note it on the timeline, suppress their waiting messages.

    Returns False (and changes nothing) if they had already left.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if not customer.email_consent:
        return False
    customer.email_consent = False
    customer.consent_at = None
    customer.consent_method = ""
    customer._history_user = None  # the customer themselves, through their link
    customer.save(update_fields=["email_consent", "consent_at", "consent_method", "updated_at"])
    EmailOptOut.objects.create(customer=customer, via=via)
    OutboundMessage.objects.filter(
        customer=customer, status__in=(OutboundMessage.Status.PLANNED, OutboundMessage.Status.DRAFT)
    ).update(status=OutboundMessage.Status.SUPPRESSED, status_reason="They unsubscribed", updated_at=timezone.now())
    card_changed(customer.pk, [TIMELINE])
    return True


def outbox_plan_rows(rows: Iterable[OutboundMessage], *, review: bool = False, priority: int | None = None) -> int:
    """Insert rows built in Python; ones already planned are left alone, ineligible customers get none.

    The one way (with outbox_plan_from) to write the outbox. The UNIQUE (recipient, kind, occasion)
    makes it safe to repeat; customers_eligible drops anyone who may not be emailed. Returns how many
    rows were offered (bulk_create with ignore_conflicts cannot tell which were new).
    """
    rows = list(rows)
    customer_ids = {row.customer_id for row in rows if row.customer_id}
    if customer_ids:
        eligible = set(customers_eligible(Customer.objects.filter(pk__in=customer_ids)).values_list("pk", flat=True))
        rows = [row for row in rows if not row.customer_id or row.customer_id in eligible]
    status = OutboundMessage.Status.DRAFT if review else OutboundMessage.Status.PLANNED
    for row in rows:
        row.status = status
        row.priority = PRIORITY.get(row.kind, 50) if priority is None else priority
        if row.customer_id and not row.recipient_key:
            row.recipient_key = f"c:{row.customer_id}"
        elif row.staff_user_id and not row.recipient_key:
            row.recipient_key = f"u:{row.staff_user_id}"
    OutboundMessage.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    card_changed((row.customer_id for row in rows), [TIMELINE])
    return len(rows)


def outbox_plan_from(
    recipients: QuerySet,
    *,
    kind: str,
    customer: str,
    occasion_key: str | Expression,
    planned_at: datetime,
    context: dict | Expression,
    review: bool = False,
    priority: int | None = None,
) -> int:
    """Plan one row per eligible recipient with a single INSERT … SELECT … ON CONFLICT DO NOTHING.

    The database does the whole set: no rows travel to Python (planning a day for a million
    customers stays in seconds). `customer` names the customer id column of `recipients`
    ("pk" for a Customer queryset, "customer_id" for gift codes, invitations…); customers_eligible
    is applied here, so no planner can forget it. Columns not given get the model's default, so a
    field added to the outbox later needs no change here. Returns how many rows were added
    (0 on a repeat run). Works on PostgreSQL and SQLite.
    """
    if recipients.model is Customer and customer == "pk":
        recipients = customers_eligible(recipients)
    else:
        recipients = recipients.filter(**{f"{customer}__in": customers_eligible().values("pk")})
    now = timezone.now()
    status = OutboundMessage.Status.DRAFT if review else OutboundMessage.Status.PLANNED
    text = CharField()
    if isinstance(occasion_key, str):
        occasion_key = Value(occasion_key, output_field=text)
    if isinstance(context, dict):
        context = JSONObject(**{k: Value(v) for k, v in context.items()})
    # The address as it is now, for the outbox page; the sender reads it again when it sends.
    email = "email" if customer == "pk" else f"{customer.removesuffix('_id')}__email"
    given: dict[str, Any] = {
        "customer_id": F(customer),
        "to_email": F(email),
        "recipient_key": Concat(Value("c:"), Cast(F(customer), text), output_field=text),
        "kind": Value(kind, output_field=text),
        "occasion_key": occasion_key,
        "status": Value(status, output_field=text),
        "planned_at": Value(planned_at, output_field=DateTimeField()),
        "priority": Value(PRIORITY.get(kind, 50) if priority is None else priority),
        "context": context,
        "created_at": Value(now, output_field=DateTimeField()),
        "updated_at": Value(now, output_field=DateTimeField()),
    }
    columns: dict[str, Any] = {}
    for field in OutboundMessage._meta.concrete_fields:
        column = field.column or field.name
        if field.primary_key:
            continue
        if column in given:
            columns[column] = given[column]
        elif field.null and not field.has_default():
            columns[column] = Value(None, output_field=field)
        else:
            columns[column] = Value(field.get_default(), output_field=field)
    select = recipients.order_by().annotate(**{f"o_{k}": v for k, v in columns.items()})
    select = select.values_list(*(f"o_{k}" for k in columns))
    sql, params = select.query.sql_with_params()
    quote = connection.ops.quote_name
    insert = (
        f"INSERT INTO {quote(OutboundMessage._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"{sql} ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, params)
        added = max(cursor.rowcount, 0)
    if added:  # rows for any number of customers: every card (one key) rather than each
        cards_all_changed()
    return added


# --- On touchpoints (connected to touchpoints.signals.touchpoint_logged in AutomationsConfig.ready) --------


def on_touchpoint_logged(sender: type, *, touchpoint, **kwargs) -> None:
    """Runs inside touchpoint_log's transaction: cancel "we miss you", plan loyalty/referral, make it right."""
    customer = touchpoint.customer
    now = timezone.now()
    _we_miss_you_cancel(customer=customer, now=now)
    if touchpoint.kind == "purchase":
        _loyalty_plan(customer=customer, now=now)
        _referral_plan(customer=customer, now=now)
    if touchpoint.is_complaint:
        _make_it_right(touchpoint=touchpoint)


def _we_miss_you_cancel(*, customer: Customer, now: datetime) -> None:
    """They got in touch: a waiting "we miss you" no longer holds."""
    cancelled = OutboundMessage.objects.filter(
        customer=customer,
        kind=Automation.Kind.WE_MISS_YOU,
        status__in=(OutboundMessage.Status.PLANNED, OutboundMessage.Status.DRAFT),
    ).update(status=OutboundMessage.Status.CANCELLED, status_reason="They got in touch again", updated_at=now)
    if cancelled:  # nothing cancelled, nothing new on the card (each renewal is a cache write after commit)
        card_changed(customer.pk, [TIMELINE])


def _soon(now: datetime) -> datetime:
    return next_sending_time(now, ShopSettings.load().tz)


def _loyalty_plan(*, customer: Customer, now: datetime) -> None:
    automation = automation_get(Automation.Kind.LOYALTY)
    k = automation.every_k
    if not automation.enabled or k < 1 or customer.purchase_count == 0 or customer.purchase_count % k:
        return
    outbox_plan_rows(
        [
            OutboundMessage(
                customer=customer,
                kind=Automation.Kind.LOYALTY,
                occasion_key=f"loyalty:{customer.purchase_count}",
                planned_at=_soon(now),
            )
        ],
        review=automation.review_before_sending,
    )


def _referral_plan(*, customer: Customer, now: datetime) -> None:
    """The friend's first purchase: thank whoever referred them."""
    if customer.purchase_count != 1 or not customer.referred_by_id:
        return
    automation = automation_get(Automation.Kind.REFERRAL)
    if not automation.enabled:
        return
    outbox_plan_rows(
        [
            OutboundMessage(
                customer_id=customer.referred_by_id,
                kind=Automation.Kind.REFERRAL,
                occasion_key=f"referral:{customer.pk}",
                planned_at=_soon(now),
                context={"friend_id": customer.pk},
            )
        ],
        review=automation.review_before_sending,
    )


def _make_it_right(*, touchpoint) -> FollowUp | None:
    """A complaint: a follow-up for the relationship owner, due the next working day (no email)."""
    automation = automation_get(Automation.Kind.MAKE_IT_RIGHT)
    if not automation.enabled:
        return None
    customer = touchpoint.customer
    day = next_working_day(shop_today(touchpoint.happened_at))
    note = " ".join(touchpoint.note.split())
    reason = f"Make it right: {note[:150]}" if note else "Make it right after their complaint"
    return followup_open(
        customer=customer,
        reason=reason[:200],
        due_date=day,
        opened_by=touchpoint.logged_by,
        assignee=customer.owner,
        source=FollowUp.Source.COMPLAINT,
    )
