"""Issued gift codes on the customer's timeline (redemptions are already touchpoints)."""

from customers.registry import TimelineCursor, TimelineEntry
from gifts.models import GiftCode
from gifts.selectors import newest_gift_codes

TEMPLATE = "gifts/includes/_timeline_gift.html"


def timeline_gifts(customer, before: TimelineCursor | None, limit: int) -> list[TimelineEntry]:
    """Newest first, at most `limit` codes after the cursor `before`: one query per page (none more on
    the first page when the card's gifts panel already read them)."""
    if before is None:
        return [_entry(g) for g in newest_gift_codes(customer=customer, limit=limit)]
    older = GiftCode.objects.filter(customer=customer).filter(before.after_q(source="gift", at_field="issued_at"))
    return [_entry(g) for g in older.select_related("product", "issued_by").order_by("-issued_at", "-pk")[:limit]]


def _entry(gift: GiftCode) -> TimelineEntry:
    return TimelineEntry(at=gift.issued_at, template=TEMPLATE, obj=gift, source="gift", pk=gift.pk)
