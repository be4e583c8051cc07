"""The outbox sender: claim a due row, check it may go, send it once, record what happened.

planned ─claim─▶ sending ─250─▶ sent
                   ├ 4xx / connection error ─▶ planned again (backoff) … ─▶ failed after MAX_ATTEMPTS
                   ├ 5xx ─▶ failed, address suppressed
                   └ worker died ─▶ unknown after SENDING_TIMEOUT (owner resends by hand; never silently)
planned ─▶ suppressed (no consent, suppressed address) | cancelled (occasion gone) | stays planned,
           planned time moved, reason shown (quiet hours, the 7-day cap, sending paused)

The conditional UPDATE (status planned → sending) is the guard against sending twice;
on PostgreSQL the row is also locked with skip_locked so a second worker moves on at once.
"""

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import formats, timezone

from automations.emails import NothingToSay, email_build, message_id_for
from automations.models import OutboundMessage, OutboxControl
from automations.rendering import is_transactional
from automations.schedule import in_sending_hours, local_today, next_sending_time
from automations.services import CAP_PER_WEEK, CAPPED_KINDS, automation_get
from automations.suppression import is_suppressed, suppression_add
from automations.templating import CODE_KINDS, TemplateError
from crm.models import ShopSettings
from customers.models import Customer

log = logging.getLogger(__name__)
S = OutboundMessage.Status

MAX_ATTEMPTS = getattr(settings, "OUTBOX_MAX_ATTEMPTS", 5)
SWEEP_BATCH = 200


def sending_timeout() -> timedelta:
    return timedelta(seconds=getattr(settings, "OUTBOX_SENDING_TIMEOUT", 600))


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: base, 2×base, 4×base…"""
    base = getattr(settings, "OUTBOX_RETRY_BASE_SECONDS", 60)
    return timedelta(seconds=base * 2 ** max(attempts - 1, 0))


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


def _customer_block_reason(message: OutboundMessage, customer: Customer) -> str:
    if customer.erased_at or customer.is_archived:
        return "Customer archived or erased"
    if is_transactional(message.kind):
        # Asked for by the customer, to the address they gave: consent is about marketing, not this.
        return "Address suppressed (bounced or asked to stop)" if is_suppressed(message.to_email) else ""
    if not customer.email:
        return "No email address"
    if not customer.email_consent:
        return "No email consent"
    if is_suppressed(customer.email):
        return "Address suppressed (bounced or asked to stop)"
    return ""


def _cap_slot(customer_id: int, now: datetime) -> datetime | None:
    """When the next automated email may go to this customer, or None if it may go now."""
    recent = sorted(
        OutboundMessage.objects.filter(
            customer_id=customer_id, kind__in=CAPPED_KINDS, status__in=(S.SENT, S.SENDING, S.UNKNOWN),
            claimed_at__gt=now - timedelta(days=7),
        ).values_list("claimed_at", flat=True)
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
        customer=customer, kind=automation.code_kind, value=automation.code_value,
        expires_on=now.astimezone(tz).date() + timedelta(days=automation.code_valid_days), source=message.kind,
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
        if OutboxControl.load().paused:
            _wait(message.pk, message.planned_at, "Sending is paused by the owner")
            return "paused", None
        shop = ShopSettings.load()
        if message.customer_id:
            # Locking the customer serialises their sends, so the 7-day cap holds across workers.
            customer = Customer.objects.select_for_update().get(pk=message.customer_id)
            reason = _customer_block_reason(message, customer)
            if reason:
                return _stop(message.pk, S.SUPPRESSED, reason), None
            if message.kind == "wemissyou" and customer.last_touchpoint_at:
                # The occasion is the date of the last touchpoint when planned: a newer one means they came back.
                if message.occasion_key != f"wemissyou:{local_today(customer.last_touchpoint_at, shop.tz).isoformat()}":
                    return _stop(message.pk, S.CANCELLED, "They got in touch again"), None
            if not is_transactional(message.kind) and not in_sending_hours(now, shop.tz):
                until = next_sending_time(now, shop.tz)
                return _wait(message.pk, until, f"Quiet hours: waits until {_local(until, shop.tz)}"), None
            if message.kind in CAPPED_KINDS and not is_transactional(message.kind):
                slot = _cap_slot(customer.pk, now)
                if slot:
                    until = next_sending_time(slot, shop.tz)
                    return _wait(message.pk, until, f"Already {CAP_PER_WEEK} emails this week: waits until "
                                                    f"{_local(until, shop.tz)}"), None
            _gift_code_ensure(message, customer, now)
            to_email = message.to_email if is_transactional(message.kind) else customer.email
        else:
            user = User.objects.get(pk=message.staff_user_id)
            if not user.is_active or not user.email:
                return _stop(message.pk, S.SUPPRESSED, "Staff member inactive or without email"), None
            to_email = user.email
        claimed = OutboundMessage.objects.filter(pk=message.pk, status=S.PLANNED).update(
            status=S.SENDING, attempts=F("attempts") + 1, claimed_at=now, to_email=to_email,
            message_id=message_id_for(message), status_reason="", updated_at=now,
        )
        if claimed != 1:
            return "taken", None
    message.refresh_from_db()
    return "claimed", message


def _record(message: OutboundMessage, **fields) -> None:
    """Save the result of this attempt, unless the row has moved on (e.g. resent after `unknown`)."""
    fields["updated_at"] = timezone.now()
    OutboundMessage.objects.filter(
        pk=message.pk, attempts=message.attempts, status__in=(S.SENDING, S.UNKNOWN)
    ).update(**fields)


def _smtp_code(exc: Exception) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return min(codes) if codes else None
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code
    return None


def message_send(*, message_id: int, now: datetime | None = None, connection=None) -> str:
    """Send one outbox row if it is due and may go; returns what happened ("sent", "retry", "taken"…).

    Attempt recorded (sending) → SMTP → result recorded in a separate update.
    """
    now = now or timezone.now()
    outcome, message = _claim(message_id, now)
    if message is None:
        return outcome
    try:
        email = email_build(message, connection=connection)
    except NothingToSay as exc:
        _record(message, status=S.CANCELLED, status_reason=str(exc))
        return "cancelled"
    except TemplateError as exc:
        _record(message, status=S.FAILED, last_error=f"Template: {exc}", status_reason="Could not be written")
        return "failed"
    try:
        email.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        return _failure(message, exc)
    _record(message, status=S.SENT, sent_at=timezone.now(), subject=email.subject[:200],
            body_text=email.body, body_html=email.alternatives[0][0] if email.alternatives else "",
            last_error="", next_attempt_at=None)
    return "sent"


def _failure(message: OutboundMessage, exc: Exception) -> str:
    code = _smtp_code(exc)
    error = f"{code} {exc}" if code else f"{type(exc).__name__}: {exc}"
    if code and code >= 500:
        suppression_add(email=message.to_email, reason=f"bounce {code}")
        _record(message, status=S.FAILED, last_error=error[:2000], status_reason="Refused by the mail server")
        return "failed"
    if message.attempts >= MAX_ATTEMPTS:
        _record(message, status=S.FAILED, last_error=error[:2000],
                status_reason=f"Gave up after {message.attempts} attempts")
        return "failed"
    retry_at = timezone.now() + retry_delay(message.attempts)
    _record(message, status=S.PLANNED, last_error=error[:2000], next_attempt_at=retry_at,
            status_reason=f"Temporary error; attempt {message.attempts + 1} after {retry_at:%H:%M:%S} UTC")
    return "retry"


def outbox_mark_stuck(*, now: datetime | None = None) -> int:
    """Rows left `sending` past the timeout (a worker died mid-send) become `unknown`; never resent silently."""
    now = now or timezone.now()
    return OutboundMessage.objects.filter(status=S.SENDING, claimed_at__lt=now - sending_timeout()).update(
        status=S.UNKNOWN, updated_at=now,
        status_reason="The worker stopped while sending: it may or may not have arrived. Resend by hand if needed.",
    )


def outbox_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """One pass of the periodic sender: mark stuck rows, then send due rows in priority order."""
    now = now or timezone.now()
    counts = {"unknown": outbox_mark_stuck(now=now)}
    if OutboxControl.load().paused:
        counts["paused"] = due_messages(now).update(status_reason="Sending is paused by the owner", updated_at=now)
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
            if outcome in ("retry", "failed"):
                connection.close()  # start the next message on a fresh SMTP session
    finally:
        try:
            connection.close()
        except Exception:  # a broken SMTP connection must not hide the results above
            log.warning("Closing the SMTP connection failed", exc_info=True)
    return counts
