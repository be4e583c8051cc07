"""Writes for what comes back from the mail: delivery events, replies, and the staff calendar feeds.

Delivery events: stored raw (mail_event_record) → processed by a task (mail_event_process).
A hard bounce or a complaint suppresses the address (automations.suppression, as a 550 does)
and turns email consent off with the reason, which also stops whatever is still planned for them
(a newsletter that is still sending); a soft bounce or a delay is only shown; a provider-side
unsubscribe is the customer's own (automations.services.customer_unsubscribe).
"""

import hashlib
import json
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from automations.models import EmailOptOut, OutboundMessage
from automations.services import customer_unsubscribe
from automations.suppression import suppression_add
from crm.clock import shop_today
from crm.tasks import enqueue_on_commit
from customers.card_cache import TIMELINE, card_changed
from customers.models import Customer, FollowUp
from customers.services import followup_open
from mailevents.models import CalendarFeed, InboundMail, MailEvent
from mailevents.replies import ParsedReply, reply_parse
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log

log = logging.getLogger(__name__)
D = OutboundMessage.Delivery
S = OutboundMessage.Status

# Which report sticks on the outbox row when several arrive (in any order): the higher rank wins.
DELIVERY_RANK: dict[str, int] = {
    D.DEFERRED: 1,
    D.SOFT_BOUNCE: 2,
    D.DELIVERED: 3,
    D.UNSUBSCRIBED: 4,
    D.BOUNCED: 5,
    D.COMPLAINED: 6,
}
# Postmark names the kind of bounce; these mean the address will never work.
POSTMARK_HARD_BOUNCES = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Blocked", "DMARCPolicy"}
RAW_LIMIT = 4_000  # characters of a refused request kept for the owner to look at (a flood stays small)


# --- delivery events ----------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """The provider's payload as JSON: a dict as it is, a form post (Mailgun's legacy hooks) as lists."""
    if hasattr(value, "lists"):
        return {key: values if len(values) > 1 else values[0] for key, values in value.lists()}
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return {"repr": repr(value)[:RAW_LIMIT]}
    return value


def dedupe_key_for(*, provider: str, event_id: str, event_type: str, recipient: str, raw: Any) -> str:
    """The same event sent twice gets the same key: the provider's id, else the payload itself."""
    identity = event_id or json.dumps(raw, sort_keys=True, default=str)
    return hashlib.sha256(f"{provider}|{event_type}|{recipient.lower()}|{identity}".encode()).hexdigest()


def provider_slug(esp_name: str) -> str:
    """anymail's "Amazon SES" → "amazon_ses", the name used in URLs and settings."""
    return esp_name.strip().lower().replace(" ", "_")


@transaction.atomic
def mail_event_record(*, provider: str, event: Any) -> MailEvent | None:
    """Store one normalised tracking event (anymail's AnymailTrackingEvent) and queue its processing.

    Returns None for an event already stored (a provider retrying, or the same event posted twice).
    """
    from mailevents.tasks import mail_event_process_task

    raw = _jsonable(event.esp_event)
    recipient = (event.recipient or "")[:254]
    event_type = str(event.event_type or "")
    key = dedupe_key_for(
        provider=provider, event_id=str(event.event_id or ""), event_type=event_type, recipient=recipient, raw=raw
    )
    if MailEvent.objects.filter(dedupe_key=key).exists():
        return None
    row = MailEvent(
        provider=provider[:30],
        dedupe_key=key,
        event_type=event_type[:20],
        event_id=str(event.event_id or "")[:200],
        provider_message_id=str(event.message_id or "")[:200],
        recipient=recipient,
        occurred_at=event.timestamp,
        description=str(event.description or "")[:300],
        mta_response=str(event.mta_response or "")[:2000],
        metadata=_jsonable(event.metadata or {}),
        raw=raw,
    )
    try:
        with transaction.atomic():  # two workers posting the same event at once: the UNIQUE key decides
            row.save()
    except IntegrityError:
        return None
    enqueue_on_commit(mail_event_process_task, backstop="the mail events sweep, every 5 minutes", event_id=row.pk)
    return row


@transaction.atomic
def mail_event_refused_record(*, provider: str, body: bytes, reason: str) -> MailEvent:
    """Keep a webhook call that failed its signature or password check, for the owner to see; nothing else."""
    text = body[:RAW_LIMIT].decode("utf-8", "replace")
    row = MailEvent(
        provider=provider[:30],
        dedupe_key=secrets.token_hex(32),
        status=MailEvent.Status.REFUSED,
        raw={"body": text},
        outcome=reason[:300],
        processed_at=timezone.now(),
    )
    row.save()
    return row


def _bounce_is_hard(event: MailEvent) -> bool:
    """anymail calls both hard and soft bounces "bounced" for some providers: their payload tells them apart."""
    raw = event.raw if isinstance(event.raw, dict) else {}
    if event.provider == "postmark":
        return raw.get("Type") in POSTMARK_HARD_BOUNCES
    if event.provider == "amazon_ses":
        return (raw.get("bounce") or {}).get("bounceType") == "Permanent"
    return True  # Mailgun, SendGrid, Brevo: a temporary failure already arrives as "deferred"


def _delivery_for(event: MailEvent) -> str | None:
    kind = event.event_type
    if kind == "delivered":
        return D.DELIVERED
    if kind == "deferred":
        return D.DEFERRED
    if kind in ("bounced", "rejected"):
        return D.BOUNCED if kind == "rejected" or _bounce_is_hard(event) else D.SOFT_BOUNCE
    if kind == "complained":
        return D.COMPLAINED
    if kind == "unsubscribed":
        return D.UNSUBSCRIBED
    return None  # opened, clicked, queued, sent…: not kept


def _message_for(event: MailEvent) -> OutboundMessage | None:
    """The outbox row: by the provider's message id, else by the row id we put in its metadata."""
    if event.provider_message_id:
        found = OutboundMessage.objects.filter(provider_message_id=event.provider_message_id).first()
        if found:
            return found
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    outbox_id = str(metadata.get("rapport_outbox", ""))
    if outbox_id.isdigit() and event.recipient:
        return OutboundMessage.objects.filter(pk=int(outbox_id), to_email__iexact=event.recipient).first()
    return None


def _detail(event: MailEvent, delivery: str) -> str:
    words = event.mta_response or event.description
    label = dict(D.choices)[delivery]
    return f"{label}: {words}"[:200] if words else label


def _consent_off(*, customer: Customer, reason: str) -> None:
    """Email consent off with the reason in the card's history, and nothing more goes out to them.

    Planned and draft rows (a newsletter still sending, a birthday note) become suppressed now,
    not at their send time, so the outbox shows why at once.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.email_consent:
        customer.email_consent = False
        customer.consent_at = None
        customer.consent_method = ""
        customer._history_user = None  # the mail service reported it, no staff member did
        customer._change_reason = reason[:100]  # simple_history keeps it with the change
        customer.save(update_fields=["email_consent", "consent_at", "consent_method", "updated_at"])
    OutboundMessage.objects.filter(customer=customer, status__in=(S.PLANNED, S.DRAFT)).update(
        status=S.SUPPRESSED, status_reason=reason[:200], updated_at=timezone.now()
    )
    card_changed(customer.pk)  # their consent and their planned emails


def mail_event_process(*, event_id: int) -> str:
    """Apply one stored event once: the outbox row, the card, suppression and consent. Returns its status."""
    with transaction.atomic():
        event = MailEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.status != MailEvent.Status.RECEIVED:
            return event.status if event else "missing"  # processed already: a repeat is a no-op
        delivery = _delivery_for(event)
        message = _message_for(event)
        customer = message.customer if message and message.customer_id else None
        if customer is None and event.recipient:
            customer = Customer.objects.filter(email__iexact=event.recipient, erased_at__isnull=True).first()
        event.message, event.customer = message, customer
        event.processed_at = timezone.now()
        if delivery is None:
            event.status, event.outcome = MailEvent.Status.IGNORED, f"“{event.event_type}” is not kept"
            event.save()
            return event.status
        outcome = [dict(D.choices)[delivery]]
        if message is not None:
            weaker = [value for value, rank in DELIVERY_RANK.items() if rank <= DELIVERY_RANK[delivery]]
            OutboundMessage.objects.filter(pk=message.pk).filter(
                Q(delivery_status="") | Q(delivery_status__in=weaker)
            ).update(
                delivery_status=delivery,
                delivery_detail=_detail(event, delivery),
                delivery_at=event.occurred_at or event.processed_at,
                updated_at=event.processed_at,
            )
            card_changed([message.customer_id], [TIMELINE])  # the email's entry shows how it went
        if delivery in (D.BOUNCED, D.COMPLAINED):
            reason = (
                "Marked our email as spam" if delivery == D.COMPLAINED else "Hard bounce"
            ) + f" ({event.provider})"
            suppression_add(
                email=event.recipient,
                reason=("complaint" if delivery == D.COMPLAINED else "bounce") + f" {event.provider}",
            )
            outcome.append("address suppressed")
            if customer is not None:
                _consent_off(customer=customer, reason=reason)
                outcome.append("email consent off")
        elif delivery == D.UNSUBSCRIBED and customer is not None:
            customer_unsubscribe(customer=customer, via=EmailOptOut.Via.PROVIDER)
            outcome.append("unsubscribed")
        event.status, event.outcome = MailEvent.Status.PROCESSED, ", ".join(outcome)[:300]
        event.save()
        return event.status


def mail_events_sweep(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Process events still `received` a minute after they came (their task was lost); returns how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    done = 0
    for pk in (
        MailEvent.objects.filter(status=MailEvent.Status.RECEIVED, received_at__lte=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    ):
        mail_event_process(event_id=pk)
        done += 1
    for pk in (
        InboundMail.objects.filter(status=InboundMail.Status.RECEIVED, received_at__lte=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    ):
        inbound_process(inbound_id=pk)
        done += 1
    return done


# --- replies ------------------------------------------------------------------------------------------


@transaction.atomic
def inbound_store(*, source: str, raw: bytes) -> InboundMail | None:
    """Keep one received email (raw) and queue its processing; None if it was stored before.

    The key is its Message-ID, so the IMAP poll fetching it again after a crash adds nothing.
    """
    from mailevents.tasks import inbound_process_task

    parsed = reply_parse(raw)
    identity = parsed.message_id or hashlib.sha256(raw).hexdigest()
    key = hashlib.sha256(identity.encode("utf-8", "replace")).hexdigest()
    if InboundMail.objects.filter(dedupe_key=key).exists():
        return None
    row = InboundMail(
        source=source[:30], dedupe_key=key, raw=raw, from_email=parsed.from_email[:254], subject=parsed.subject[:300]
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return None
    enqueue_on_commit(inbound_process_task, backstop="the mail events sweep, every 5 minutes", inbound_id=row.pk)
    return row


def _customer_for_reply(reply: ParsedReply) -> tuple[Customer | None, str]:
    """By the signed tag in the address they replied to, then by their own address."""
    from automations.links import customer_id_from_reply_address

    live = Customer.objects.filter(erased_at__isnull=True)
    for address in reply.to_addresses:
        customer_id = customer_id_from_reply_address(address)
        if customer_id:
            customer = live.filter(pk=customer_id).first()
            if customer:
                return customer, "matched by the reply address"
    if reply.from_email:
        customer = live.filter(email__iexact=reply.from_email).order_by("is_archived", "pk").first()
        if customer:
            return customer, "matched by the sender's address"
    return None, ""


def _reply_note(reply: ParsedReply) -> str:
    parts = []
    if reply.subject:
        parts.append(f"Subject: {reply.subject}")
    parts.append(reply.text or "(no text)")
    if reply.attachments:
        parts.append("Attachments: " + ", ".join(f"{name} ({size_label})" for name, size_label in reply.attachments))
    return "\n\n".join(parts)


def inbound_process(*, inbound_id: int) -> str:
    """Turn a stored reply into an "Email reply" touchpoint and a "reply to <name>" follow-up, once.

    An automatic answer (out of office, vacation, a bounce report) is recognised by its headers and not logged.
    """
    with transaction.atomic():
        inbound = InboundMail.objects.select_for_update().filter(pk=inbound_id).first()
        if inbound is None or inbound.status != InboundMail.Status.RECEIVED:
            return inbound.status if inbound else "missing"
        inbound.processed_at = timezone.now()
        try:
            reply = reply_parse(bytes(inbound.raw))
        except (ValueError, LookupError, TypeError, AttributeError, IndexError) as exc:
            # A mangled message must not come back to the sweep every five minutes: kept, marked, left.
            inbound.status, inbound.outcome = InboundMail.Status.UNMATCHED, f"Unreadable: {exc!r}"[:300]
            inbound.save()
            return inbound.status
        if reply.auto_reason:
            inbound.status, inbound.outcome = InboundMail.Status.AUTO_REPLY, reply.auto_reason[:300]
            inbound.save()
            return inbound.status
        customer, how = _customer_for_reply(reply)
        if customer is None:
            inbound.status, inbound.outcome = InboundMail.Status.UNMATCHED, "No customer has this address"
            inbound.save()
            return inbound.status
        now = timezone.now()
        happened_at = min(reply.sent_at or now, now)
        touchpoint = touchpoint_log(
            customer=customer,
            logged_by=None,
            kind=Touchpoint.Kind.REPLY,
            happened_at=happened_at,
            note=_reply_note(reply),
        )
        reason = f"Reply to {customer.display_name}"[:200]
        if not FollowUp.objects.filter(customer=customer, status=FollowUp.Status.OPEN, reason=reason).exists():
            followup_open(
                customer=customer,
                reason=reason,
                opened_by=None,
                due_date=shop_today(now),
                source=FollowUp.Source.AUTOMATION,
            )
        inbound.status, inbound.customer, inbound.touchpoint = InboundMail.Status.LOGGED, customer, touchpoint
        inbound.outcome = how
        inbound.save()
        return inbound.status


# --- calendar feeds -----------------------------------------------------------------------------------


def _scope_check(*, user: User, scope: str) -> None:
    from crm.roles import is_owner

    if scope not in CalendarFeed.Scope.values:
        raise ValidationError({"scope": "Choose whose dates the calendar shows."})
    if scope == CalendarFeed.Scope.SHOP and not is_owner(user):
        raise ValidationError({"scope": "Only the owner can subscribe to the whole shop's calendar."})


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> int:
    """Revoke the user's live feed: its URL answers 404 from now on. Returns how many were revoked (0 or 1)."""
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def calendar_feed_create(*, user: User, scope: str = CalendarFeed.Scope.MINE) -> CalendarFeed:
    """A new secret URL for the user (the old one, if any, stops working): regenerate and first creation alike."""
    _scope_check(user=user, scope=scope)
    User.objects.select_for_update().filter(pk=user.pk).first()  # one live feed per user, also under a double click
    calendar_feed_revoke(user=user)
    feed = CalendarFeed(user=user, scope=scope, token=secrets.token_urlsafe(32))
    feed.full_clean()
    feed.save()
    return feed


def calendar_feed_live(*, token: str) -> CalendarFeed | None:
    """The live feed with this token, or None (unknown, revoked, or its user deactivated)."""
    if not token or len(token) > 64:
        return None
    return (
        CalendarFeed.objects.select_related("user")
        .filter(token=token, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
