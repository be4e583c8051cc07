"""The customer's outbox messages and unsubscribes, as entries on their timeline."""

from automations.models import EmailOptOut, OutboundMessage
from customers.registry import TimelineCursor, TimelineEntry, card_has

# Registered as card rows (AutomationsConfig.ready): many customers have had no email, most never opted out.
MESSAGES, OPT_OUTS = "messages", "opt_outs"

# What a message's timeline entry shows: the body and headers are most of an outbox row.
TIMELINE_MESSAGE_FIELDS = (
    "customer_id",
    "kind",
    "status",
    "planned_at",
    "sent_at",
    "subject",
    "status_reason",
    "last_error",
    "delivery_status",
    "delivery_detail",
)


def _newest_messages(messages, limit: int):
    return messages.only(*TIMELINE_MESSAGE_FIELDS).order_by("-planned_at", "-pk")[:limit]


def _newest_opt_outs(opt_outs, limit: int):
    return opt_outs.order_by("-created_at", "-pk")[:limit]


def timeline_messages(customer, before: TimelineCursor | None, limit: int) -> list[TimelineEntry]:
    """Newest first, at most `limit` of each kind after the cursor `before`: two queries per page at most."""
    messages = OutboundMessage.objects.filter(customer_id=customer.pk)
    opt_outs = EmailOptOut.objects.filter(customer_id=customer.pk)
    if before is not None:
        messages = messages.filter(before.after_q(source="msg", at_field="planned_at"))
        opt_outs = opt_outs.filter(before.after_q(source="optout", at_field="created_at"))
    messages = _newest_messages(messages, limit) if card_has(customer, MESSAGES) else []
    opt_outs = _newest_opt_outs(opt_outs, limit) if card_has(customer, OPT_OUTS) else []
    entries = [
        TimelineEntry(
            at=m.planned_at, template="automations/includes/_timeline_message.html", obj=m, source="msg", pk=m.pk
        )
        for m in messages
    ]
    entries += [
        TimelineEntry(
            at=o.created_at, template="automations/includes/_timeline_optout.html", obj=o, source="optout", pk=o.pk
        )
        for o in opt_outs
    ]
    entries.sort(key=lambda e: (e.at, e.source, e.pk), reverse=True)
    return entries[:limit]
