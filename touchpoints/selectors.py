"""Page reads for touchpoints: this app's source of the customer's timeline (customers.timeline merges them)."""

from crm.expressions import RelatedNames
from customers.models import Customer
from customers.registry import TimelineCursor, TimelineEntry
from touchpoints.models import Touchpoint

TOUCHPOINT_ENTRY_TEMPLATE = "touchpoints/includes/_entry.html"


def touchpoint_entry(touchpoint: Touchpoint) -> TimelineEntry:
    return TimelineEntry(
        at=touchpoint.happened_at, template=TOUCHPOINT_ENTRY_TEMPLATE, obj=touchpoint, source="tp", pk=touchpoint.pk
    )


def _newest_touchpoints(touchpoints, limit: int):
    # A "note" with no text (imported, or from before notes needed one) says nothing: not an entry.
    touchpoints = touchpoints.exclude(kind=Touchpoint.Kind.NOTE, note="")
    return (
        touchpoints.select_related("logged_by")
        .annotate(listed_product_names=RelatedNames("products"))
        .order_by("-happened_at", "-pk")[:limit]
    )


def touchpoint_timeline_source(customer: Customer, before: TimelineCursor | None, limit: int) -> list[TimelineEntry]:
    """This app's own timeline source: one query, the products' names read in the same row."""
    touchpoints = Touchpoint.objects.filter(customer_id=customer.pk)
    if before is not None:
        touchpoints = touchpoints.filter(before.after_q(source="tp", at_field="happened_at"))
    rows = list(_newest_touchpoints(touchpoints, limit))
    for touchpoint in rows:
        touchpoint._product_names = touchpoint.listed_product_names  # what Touchpoint.product_names reads
    return [touchpoint_entry(t) for t in rows]
