"""The customer's outbox messages and unsubscribes, as entries on their timeline."""

from automations.models import EmailOptOut, OutboundMessage
from customers.registry import TimelineCursor, TimelineEntry, card_has, newest_rows

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


def timeline_messages(customer, before: TimelineCursor | None, limit: int) -> list[TimelineEntry]:
    """Newest first, at most `limit` of each kind after the cursor `before`: two queries per page at most."""
    page = {"customer_id": customer.pk, "before": before, "limit": limit}
    messages = (
        newest_rows(OutboundMessage, source="msg", at_field="planned_at", fields=TIMELINE_MESSAGE_FIELDS, **page)
        if card_has(customer, MESSAGES)
        else []
    )
    opt_outs = (
        newest_rows(EmailOptOut, source="optout", at_field="created_at", **page) if card_has(customer, OPT_OUTS) else []
    )
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
