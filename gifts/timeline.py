"""Issued gift codes on the customer's timeline (redemptions are already touchpoints)."""

from datetime import datetime

from gifts.models import GiftCode
from gifts.selectors import newest_gift_codes
from touchpoints.timeline import TimelineEntry

TEMPLATE = "gifts/includes/_timeline_gift.html"


def timeline_gifts(customer, before: datetime | None, limit: int) -> list[TimelineEntry]:
    """Newest first, at most `limit` codes issued before `before`: one query per page (none more on
    the first page when the card's gifts panel already read them)."""
    if before is None:
        gifts = newest_gift_codes(customer=customer, limit=limit)
        return [TimelineEntry(at=g.issued_at, template=TEMPLATE, obj=g, key=f"gift:{g.pk}") for g in gifts]
    gifts = GiftCode.objects.filter(customer=customer)
    if before is not None:
        gifts = gifts.filter(issued_at__lt=before)
    gifts = gifts.select_related("product", "issued_by").order_by("-issued_at", "-pk")[:limit]
    return [TimelineEntry(at=g.issued_at, template=TEMPLATE, obj=g, key=f"gift:{g.pk}") for g in gifts]
