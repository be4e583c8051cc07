"""Page reads for touchpoints: the merged, keyset-paginated timeline of one customer."""

from dataclasses import dataclass
from datetime import datetime

from customers.models import Customer
from touchpoints.models import Touchpoint
from touchpoints.timeline import TimelineEntry, timeline_sources

TIMELINE_PAGE = 20
TOUCHPOINT_ENTRY_TEMPLATE = "touchpoints/includes/_entry.html"


def touchpoint_entry(touchpoint: Touchpoint) -> TimelineEntry:
    return TimelineEntry(at=touchpoint.happened_at, template=TOUCHPOINT_ENTRY_TEMPLATE, obj=touchpoint,
                         key=f"tp:{touchpoint.pk}")


def touchpoint_product_names(touchpoints: list[Touchpoint]) -> None:
    """Set `product_names` on each touchpoint with one query (names only: far cheaper than prefetching models)."""
    names: dict[int, list[str]] = {t.pk: [] for t in touchpoints}
    if names:
        rows = (
            Touchpoint.products.through.objects.filter(touchpoint_id__in=list(names))
            .order_by("product__name", "product_id").values_list("touchpoint_id", "product__name")
        )
        for touchpoint_id, name in rows:
            names[touchpoint_id].append(name)
    for touchpoint in touchpoints:
        touchpoint._product_names = names[touchpoint.pk]


def touchpoint_timeline_source(customer: Customer, before: datetime | None, limit: int) -> list[TimelineEntry]:
    """This app's own timeline source (2 queries: the touchpoints, their products' names)."""
    touchpoints = Touchpoint.objects.filter(customer=customer)
    if before is not None:
        touchpoints = touchpoints.filter(happened_at__lt=before)
    touchpoints = list(touchpoints.select_related("logged_by").order_by("-happened_at", "-pk")[:limit])
    touchpoint_product_names(touchpoints)
    return [touchpoint_entry(t) for t in touchpoints]


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    older: datetime | None  # pass as ?before= for the next page; None on the last page


def timeline_page(*, customer: Customer, before: datetime | None = None, limit: int = TIMELINE_PAGE) -> TimelinePage:
    """Newest first, at most `limit` entries older than `before`, merged from every registered source."""
    merged: list[TimelineEntry] = []
    for source in timeline_sources():
        merged.extend(source(customer, before, limit + 1))
    merged.sort(key=lambda e: (e.at, e.key), reverse=True)
    page = merged[:limit]
    # The cursor is a time, so entries sharing the last entry's time stay on this page
    # (otherwise "older than" would skip them on the next one). Only more than limit + 1
    # entries of one source at the very same microsecond could still be cut.
    while page and len(page) < len(merged) and merged[len(page)].at == page[-1].at:
        page.append(merged[len(page)])
    # More than `limit` came back: there may be older entries (the next page may be empty).
    older = page[-1].at if len(merged) > limit and page else None
    return TimelinePage(entries=page, older=older)
