"""Page reads for touchpoints: the merged, keyset-paginated timeline of one customer."""

from dataclasses import dataclass

from crm.expressions import RelatedNames
from customers.models import Customer
from touchpoints.models import Touchpoint
from touchpoints.timeline import TimelineCursor, TimelineEntry, timeline_sources

TIMELINE_PAGE = 20
TIMELINE_FIRST_PAGE = 10  # the card opens on the latest few; "Older" adds TIMELINE_PAGE at a time
TOUCHPOINT_ENTRY_TEMPLATE = "touchpoints/includes/_entry.html"


def touchpoint_entry(touchpoint: Touchpoint) -> TimelineEntry:
    return TimelineEntry(at=touchpoint.happened_at, template=TOUCHPOINT_ENTRY_TEMPLATE, obj=touchpoint,
                         source="tp", pk=touchpoint.pk)


def _newest_touchpoints(touchpoints, limit: int):
    return (touchpoints.select_related("logged_by").annotate(listed_product_names=RelatedNames("products"))
            .order_by("-happened_at", "-pk")[:limit])


def touchpoint_timeline_source(customer: Customer, before: TimelineCursor | None, limit: int) -> list[TimelineEntry]:
    """This app's own timeline source: one query, the products' names read in the same row."""
    touchpoints = Touchpoint.objects.filter(customer_id=customer.pk)
    if before is not None:
        touchpoints = touchpoints.filter(before.after_q(source="tp", at_field="happened_at"))
    touchpoints = list(_newest_touchpoints(touchpoints, limit))
    for touchpoint in touchpoints:
        touchpoint._product_names = touchpoint.listed_product_names  # what Touchpoint.product_names reads
    return [touchpoint_entry(t) for t in touchpoints]


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    older: TimelineCursor | None  # pass its .param as ?before= for the next page; None on the last page


def timeline_page(*, customer: Customer, before: TimelineCursor | None = None,
                  limit: int = TIMELINE_PAGE) -> TimelinePage:
    """Newest first, at most `limit` entries after the cursor `before`, merged from every registered source."""
    merged: list[TimelineEntry] = []
    for source in timeline_sources():
        merged.extend(source(customer, before, limit + 1))
    merged.sort(key=lambda e: (e.at, e.source, e.pk), reverse=True)
    page = merged[:limit]
    # More than `limit` came back: there are older entries, which start right after this page's last.
    older = page[-1].cursor if len(merged) > limit else None
    return TimelinePage(entries=page, older=older)
