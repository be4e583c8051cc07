"""The outbox sender: claim a due row, check it may go, send it once, record what happened.

planned ─claim─▶ sending ─(mark "handed to the server", committed)─ DATA ─250─▶ sent
                   ├ before the mark: connection refused, greeting/MAIL 4xx ─▶ planned, mail breaker opens
                   ├ RCPT or DATA 4xx ─▶ planned again with its own backoff … ─▶ failed after the retry window
                   ├ 5xx ─▶ failed, address suppressed
                   ├ after the mark, no reply (timeout, dropped) ─▶ unknown ("may have arrived"), never retried
                   └ worker died ─▶ after SENDING_TIMEOUT: planned again without the mark, unknown with it
planned ─▶ suppressed (no consent, suppressed address) | cancelled (occasion gone) | stays planned,
           planned time moved, reason shown (quiet hours, the 7-day cap, sending paused)

The conditional UPDATE (status planned → sending) is the guard against sending twice;
on PostgreSQL the row is also locked with skip_locked so a second worker moves on at once.
The mark is a second conditional UPDATE: a worker whose row was taken back never sends DATA.

The mail breaker (on OutboxControl, so every worker shares it): a connection-level failure or a
session-wide 4xx stops the batch at once; nobody tries again until its wait is over, and then one
worker probes with one message. Rows not tried keep their attempts and their retry window.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import get_connection
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import formats, timezone

from automations.eligibility import customer_ineligible_reason
from automations.emails import NothingToSay, email_build, message_id_for
from automations.models import OutboundMessage, OutboxControl
from automations.providers import provider_message_id
from automations.rendering import is_transactional
from automations.schedule import in_sending_hours, local_today, next_sending_time
from automations.services import CAP_PER_WEEK, CAPPED_KINDS, REFUSED, automation_get
from automations.suppression import is_suppressed, suppression_add
from automations.templating import CODE_KINDS, TemplateError
from automations.transport import DeliveryError, HandoverRefused, Stage, deliver
from crm.models import ShopSettings
from customers.card_cache import TIMELINE, card_changed, cards_all_changed
from customers.models import Customer

log = logging.getLogger(__name__)
S = OutboundMessage.Status

SWEEP_BATCH = 200


def _seconds(name: str, default: int) -> timedelta:
    return timedelta(seconds=getattr(settings, name, default))


def sending_timeout() -> timedelta:
    return _seconds("OUTBOX_SENDING_TIMEOUT", 600)


def retry_window() -> timedelta:
    """How long after its first attempt a message keeps being retried (temporary errors)."""
    return _seconds("OUTBOX_RETRY_WINDOW_SECONDS", 24 * 3600)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: base, 2×base, 4×base… up to the maximum."""
    base = getattr(settings, "OUTBOX_RETRY_BASE_SECONDS", 60)
    return min(timedelta(seconds=base * 2 ** min(max(attempts - 1, 0), 20)), _seconds("OUTBOX_RETRY_MAX_SECONDS", 3600))


def breaker_delay(failures: int) -> timedelta:
    """How long the mail breaker stays open after the n-th failure in a row: base, 2×base… up to the maximum."""
    base = getattr(settings, "OUTBOX_BREAKER_BASE_SECONDS", 30)
    return min(
        timedelta(seconds=base * 2 ** min(max(failures - 1, 0), 20)), _seconds("OUTBOX_BREAKER_MAX_SECONDS", 300)
    )


def due_messages(now: datetime):
    return OutboundMessage.objects.filter(status=S.PLANNED, planned_at__lte=now).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _local(moment: datetime, tz) -> str:
    return formats.date_format(moment.astimezone(tz), "D j M H:i")


def _wait(message_id: int, until: datetime, reason: str) -> str:
    OutboundMessage.objects.filter(pk=message_id, status=S.PLANNED).update(
        planned_at=until, status_reason=reason[:200], updated_at=timezone.now()
    )
    return "waiting"


def _stop(message_id: int, status: str, reason: str) -> str:
    OutboundMessage.objects.filter(pk=message_id, status=S.PLANNED).update(
        status=status, status_reason=reason[:200], updated_at=timezone.now()
    )
    return status


def _transactional_block_reason(message: OutboundMessage, customer: Customer) -> str:
    """A message the customer asked for (confirm a change, a new link) goes to the address on the row.

    Consent is about marketing, not this; an archived or erased customer, or a suppressed address, still stops it.
    """
    if customer.erased_at or customer.is_archived:
        return "Customer archived or erased"
    return "Address suppressed (bounced or asked to stop)" if is_suppressed(message.to_email) else ""


def _cap_slot(customer_id: int, now: datetime) -> datetime | None:
    """When the next automated email may go to this customer, or None if it may go now."""
    recent = sorted(
        claimed_at
        for claimed_at in OutboundMessage.objects.filter(
            customer_id=customer_id,
            kind__in=CAPPED_KINDS,
            status__in=(S.SENT, S.SENDING, S.UNKNOWN),
            claimed_at__gt=now - timedelta(days=7),
        ).values_list("claimed_at", flat=True)
        if claimed_at is not None  # the claimed_at__gt filter leaves none; this tells the type checker
    )
    if len(recent) < CAP_PER_WEEK:
        return None
    return recent[len(recent) - CAP_PER_WEEK] + timedelta(days=7)


def _gift_code_ensure(message: OutboundMessage, customer: Customer, now: datetime) -> None:
    """Issue the personal gift code a birthday/loyalty/referral email carries, once per row."""
    if message.kind not in CODE_KINDS or message.kind == "gift_expiry" or message.context.get("gift_code_id"):
        return
    automation = automation_get(message.kind)
    if message.kind == "referral" and not automation.with_code:
        return
    from gifts.services import gift_code_issue

    tz = ShopSettings.load().tz
    gift = gift_code_issue(
        customer=customer,
        kind=automation.code_kind,
        value=automation.code_value,
        expires_on=now.astimezone(tz).date() + timedelta(days=automation.code_valid_days),
        source=message.kind,
    )
    message.context = {**message.context, "gift_code_id": gift.pk}
    OutboundMessage.objects.filter(pk=message.pk).update(context=message.context)


def _claim(message_id: int, now: datetime) -> tuple[str, OutboundMessage | None]:
    """Check the row may go now and mark it sending, in one short transaction; ("claimed", row) or (outcome, None)."""
    with transaction.atomic():
        lock = OutboundMessage.objects.filter(pk=message_id)
        if db_connection.features.has_select_for_update_skip_locked:
            lock = lock.select_for_update(skip_locked=True)
        message = lock.first()
        if message is None or message.status != S.PLANNED:
            return "taken", None  # another worker got there first (or it was sent, cancelled…)
        if message.planned_at > now or (message.next_attempt_at and message.next_attempt_at > now):
            return "not_due", None
        control = OutboxControl.load()
        if control.paused:
            _wait(message.pk, message.planned_at, "Sending is paused by the owner")
            return "paused", None
        shop = ShopSettings.load()
        customer = None
        if message.customer_id:
            # Locking the customer serialises their sends, so the 7-day cap holds across workers.
            customer = Customer.objects.select_for_update().get(pk=message.customer_id)
            transactional = is_transactional(message.kind)
            reason = (
                _transactional_block_reason(message, customer)
                if transactional
                else customer_ineligible_reason(customer)
            )
            if reason:
                return _stop(message.pk, S.SUPPRESSED, reason), None
            if message.kind == "wemissyou" and customer.last_touchpoint_at:
                # The occasion is the date of the last touchpoint when planned: a newer one means they came back.
                if message.occasion_key != f"wemissyou:{local_today(customer.last_touchpoint_at, shop.tz).isoformat()}":
                    return _stop(message.pk, S.CANCELLED, "They got in touch again"), None
            if not transactional and not in_sending_hours(now, shop.tz):
                until = next_sending_time(now, shop.tz)
                return _wait(message.pk, until, f"Quiet hours: waits until {_local(until, shop.tz)}"), None
            if message.kind in CAPPED_KINDS and not transactional:
                slot = _cap_slot(customer.pk, now)
                if slot:
                    until = next_sending_time(slot, shop.tz)
                    return _wait(
                        message.pk,
                        until,
                        f"Already {CAP_PER_WEEK} emails this week: waits until {_local(until, shop.tz)}",
                    ), None
            to_email = message.to_email if transactional else customer.email
        else:
            # The outbound_has_recipient constraint: a row without a customer has a staff user.
            assert message.staff_user_id is not None
            user = User.objects.get(pk=message.staff_user_id)
            if not user.is_active or not user.email:
                return _stop(message.pk, S.SUPPRESSED, "Staff member inactive or without email"), None
            to_email = user.email
        if not _mail_server_may_be_tried(control, now):
            return "mail_down", None  # not tried: its attempts and retry window are untouched
        if customer is not None:
            _gift_code_ensure(message, customer, now)
        claimed = OutboundMessage.objects.filter(pk=message.pk, status=S.PLANNED).update(
            status=S.SENDING,
            attempts=F("attempts") + 1,
            claimed_at=now,
            to_email=to_email,
            message_id=message_id_for(message),
            status_reason="",
            updated_at=now,
            handed_over_at=None,
            first_attempt_at=Coalesce(F("first_attempt_at"), Value(now, output_field=DateTimeField())),
        )
        if claimed != 1:
            return "taken", None
    message.refresh_from_db()
    return "claimed", message


# --- The mail breaker -------------------------------------------------------------------------


def _mail_server_may_be_tried(control: OutboxControl, now: datetime) -> bool:
    """True while the breaker is closed. Once its wait is over, one caller wins the probe; the rest wait.

    The winner moves the next try on as if its probe will fail, so a crash mid-probe cannot
    leave the breaker open for good and no second worker probes at the same time.
    """
    if control.mail_down_since is None:
        return True
    if control.mail_retry_at and control.mail_retry_at > now:
        return False
    return (
        OutboxControl.objects.filter(pk=control.pk, mail_retry_at=control.mail_retry_at).update(
            mail_retry_at=now + breaker_delay(control.mail_failures + 1)
        )
        == 1
    )


def mail_breaker_trip(*, error: str, now: datetime | None = None) -> OutboxControl:
    """The mail server did not answer (or refused the whole session): every worker stops sending for a while."""
    now = now or timezone.now()
    OutboxControl.load()
    with transaction.atomic():
        control = OutboxControl.objects.select_for_update().get(pk=1)
        control.mail_failures += 1
        control.mail_down_since = control.mail_down_since or now
        control.mail_retry_at = now + breaker_delay(control.mail_failures)
        control.mail_last_error = error[:500]
        control.save(update_fields=["mail_failures", "mail_down_since", "mail_retry_at", "mail_last_error"])
    log.warning(
        "Mail server unavailable since %s (%s); next try at %s", control.mail_down_since, error, control.mail_retry_at
    )
    return control


def mail_breaker_reset() -> None:
    """The server took a message: close the breaker (one UPDATE that changes nothing while it is closed)."""
    OutboxControl.objects.filter(pk=1, mail_down_since__isnull=False).update(
        mail_down_since=None, mail_retry_at=None, mail_failures=0, mail_last_error=""
    )


# --- Sending one row ------------------------------------------------------------------------


def _with_database_retry(write):
    """Run a small write, retrying while the database is unreachable (up to OUTBOX_RECORD_RETRY_SECONDS).

    What happened at the mail server is known only to this process: losing it to a brief
    database outage would turn a sent message into an "unknown" one.
    """
    deadline = time.monotonic() + getattr(settings, "OUTBOX_RECORD_RETRY_SECONDS", 60)
    pause = 0.2
    while True:
        try:
            return write()
        except DatabaseError:
            if time.monotonic() > deadline or db_connection.in_atomic_block:
                raise
            log.warning("Database unavailable while recording an outbox result; retrying", exc_info=True)
            db_connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 5)


def _record(message: OutboundMessage, **fields) -> int:
    """Save the result of this attempt, unless the row has moved on (taken back, resent…); returns rows changed."""
    fields["updated_at"] = timezone.now()
    return _with_database_retry(
        lambda: OutboundMessage.objects.filter(
            pk=message.pk, attempts=message.attempts, status__in=(S.SENDING, S.UNKNOWN)
        ).update(**fields)
    )


def _mark_handed_over(message: OutboundMessage) -> bool:
    """The committed "handed to the server" mark, written just before DATA; False: do not send."""
    moment = timezone.now()
    try:
        marked = (
            OutboundMessage.objects.filter(
                pk=message.pk, attempts=message.attempts, status=S.SENDING, handed_over_at__isnull=True
            ).update(handed_over_at=moment)
            == 1
        )
    except DatabaseError:  # without the mark nothing may be handed over
        log.warning("Could not record the hand-over of message %s; not sending it now", message.pk, exc_info=True)
        return False
    message.handed_over_at = moment if marked else None
    return marked


def message_send(*, message_id: int, now: datetime | None = None, connection=None) -> str:
    """Send one outbox row if it is due and may go; returns what happened ("sent", "retry", "taken"…).

    Attempt recorded (sending) → hand-over mark → SMTP DATA → result recorded in a separate update.
    """
    try:
        return _message_send(message_id=message_id, now=now, connection=connection)
    finally:
        # Whatever happened (sending, sent, waiting, failed…) shows on the customer's card.
        customer_ids = OutboundMessage.objects.filter(pk=message_id).values_list("customer_id", flat=True)
        card_changed(customer_ids, [TIMELINE])


def _message_send(*, message_id: int, now: datetime | None, connection) -> str:
    now = now or timezone.now()
    outcome, message = _claim(message_id, now)
    if message is None:
        return outcome
    own_connection = connection is None
    connection = connection or get_connection()
    try:
        email = email_build(message, connection=connection)
    except NothingToSay as exc:
        _record(message, status=S.CANCELLED, status_reason=str(exc))
        return "cancelled"
    except TemplateError as exc:
        _record(message, status=S.FAILED, last_error=f"Template: {exc}", status_reason="Could not be written")
        return "failed"
    try:
        deliver(email, connection=connection, on_handover=lambda: _mark_handed_over(message))
    except HandoverRefused:
        connection.close()
        _record(message, status=S.PLANNED, handed_over_at=None, status_reason="")
        return "taken"
    except DeliveryError as exc:
        connection.close()  # the next message starts on a fresh SMTP session
        return _failure(message, exc)
    finally:
        if own_connection:
            connection.close()
    _sent(message, email)
    return "sent"


def _sent(message: OutboundMessage, email) -> None:
    """The server said 250: record it (what was sent, when) and close the breaker."""
    _record(
        message,
        status=S.SENT,
        sent_at=timezone.now(),
        subject=email.subject[:200],
        provider_message_id=provider_message_id(email),
        body_text=email.body,
        body_html=email.alternatives[0][0] if email.alternatives else "",
        last_error="",
        status_reason="",
        next_attempt_at=None,
    )
    _with_database_retry(mail_breaker_reset)


def _failure(message: OutboundMessage, exc: DeliveryError) -> str:
    """Record a failed attempt by how far it got; opens the breaker for connection-level trouble."""
    now = timezone.now()
    error = exc.text[:2000]
    if exc.stage == Stage.HANDED_OVER:
        _record(message, status=S.UNKNOWN, last_error=error, status_reason=unknown_reason(message.handed_over_at))
        _with_database_retry(lambda: mail_breaker_trip(error=error, now=now))
        return "unknown"
    if exc.code and exc.code >= 500 and exc.stage == Stage.RECIPIENT:
        suppression_add(email=message.to_email, reason=f"bounce {exc.code}")
        _record(message, status=S.FAILED, last_error=error, status_reason=REFUSED, handed_over_at=None)
        return "failed"
    window_ends = (message.first_attempt_at or now) + retry_window()
    if now >= window_ends:
        hours = round(retry_window().total_seconds() / 3600)
        _record(
            message,
            status=S.FAILED,
            last_error=error,
            handed_over_at=None,
            status_reason=f"Gave up: the mail server did not take it within {hours} hours",
        )
        return "failed"
    if exc.stage == Stage.SESSION:
        # The server as a whole is unwell: the breaker decides when anyone tries again.
        control = _with_database_retry(lambda: mail_breaker_trip(error=error, now=now))
        _record(
            message,
            status=S.PLANNED,
            last_error=error,
            next_attempt_at=None,
            handed_over_at=None,
            status_reason=f"Waiting for the mail server (next try after {_shop_time(control.mail_retry_at)})",
        )
        return "mail_down"
    retry_at = min(now + retry_delay(message.attempts), window_ends)
    _record(
        message,
        status=S.PLANNED,
        last_error=error,
        next_attempt_at=retry_at,
        handed_over_at=None,
        status_reason=f"Temporary error; tries again after {_shop_time(retry_at)}",
    )
    return "retry"


def _shop_time(moment: datetime) -> str:
    """A time of day as the owner reads it: in the shop's time zone, to the second."""
    return f"{moment.astimezone(ShopSettings.load().tz):%H:%M:%S}"


def unknown_reason(handed_over_at: datetime | None) -> str:
    """What the owner reads on an `unknown` row."""
    if handed_over_at is None:
        return "May have arrived (the worker stopped while sending). Resend only if you are sure it did not."
    return f"May have arrived (handed to the server at {_shop_time(handed_over_at)}, no answer)"


def outbox_mark_stuck(*, now: datetime | None = None) -> dict[str, int]:
    """Rows left `sending` past the timeout (a worker died): back to planned without the mark, `unknown` with it.

    Without the mark DATA was never sent, so sending again cannot make a duplicate; with it the
    message may have arrived, and only the owner may decide to resend it.
    """
    now = now or timezone.now()
    stuck = OutboundMessage.objects.filter(status=S.SENDING, claimed_at__lt=now - sending_timeout())
    requeued = stuck.filter(handed_over_at__isnull=True).update(
        status=S.PLANNED,
        next_attempt_at=None,
        updated_at=now,
        status_reason="The worker stopped before handing it to the mail server: it will be sent",
    )
    unknown = 0
    for pk, handed_over_at in stuck.filter(handed_over_at__isnull=False).values_list("pk", "handed_over_at"):
        unknown += OutboundMessage.objects.filter(pk=pk, status=S.SENDING).update(
            status=S.UNKNOWN, updated_at=now, status_reason=unknown_reason(handed_over_at)
        )
    if requeued or unknown:
        cards_all_changed()
    return {"unknown": unknown, "requeued": requeued}


def outbox_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """One pass of the periodic sender: settle stuck rows, then send due rows in priority order.

    The batch stops at the first sign the mail server is down (the breaker opens): the rows
    not tried keep their attempts.
    """
    now = now or timezone.now()
    stuck = outbox_mark_stuck(now=now)
    counts = {"unknown": stuck["unknown"]}
    if stuck["requeued"]:
        counts["requeued"] = stuck["requeued"]
    control = OutboxControl.load()
    if control.paused:
        counts["paused"] = due_messages(now).update(status_reason="Sending is paused by the owner", updated_at=now)
        if counts["paused"]:  # the reason shows on the cards (while paused, they are drawn afresh)
            cards_all_changed()
        return counts
    if control.mail_retry_at and control.mail_retry_at > now:
        counts["mail_down"] = 1
        return counts
    ids = list(due_messages(now).order_by("priority", "planned_at", "pk").values_list("pk", flat=True)[:limit])
    if not ids:
        return counts
    connection = get_connection()
    try:
        for pk in ids:
            # Time moves on during a slow batch; each row is judged at the moment it is claimed.
            outcome = message_send(message_id=pk, connection=connection)
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome in ("mail_down", "unknown"):
                break
    finally:
        try:
            connection.close()
        except Exception:  # a broken SMTP connection must not hide the results above
            log.warning("Closing the SMTP connection failed", exc_info=True)
    return counts
