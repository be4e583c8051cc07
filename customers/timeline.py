"""The friend card's timeline: entries from every registered source, merged, keyset-paginated.

A page costs a fixed number of queries however long the history is: each source is asked for at
most `limit + 1` entries after the cursor, and entries at the same moment (backdated to the same
minute, say) are neither skipped nor repeated. Sources register in `customers.registry`.
"""

from dataclasses import dataclass
from datetime import datetime

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from customers.card_cache import fragments_get
from customers.models import Customer
from customers.registry import TimelineCursor, TimelineEntry, timeline_sources

TIMELINE_PAGE = 20
TIMELINE_FIRST_PAGE = 10  # the card opens on the latest few; "Older" adds TIMELINE_PAGE at a time


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    older: TimelineCursor | None  # pass its .param as ?before= for the next page; None on the last page


def timeline_page(
    *, customer: Customer, before: TimelineCursor | None = None, limit: int = TIMELINE_PAGE
) -> TimelinePage:
    """Newest first, at most `limit` entries after the cursor `before`, merged from every registered source."""
    merged: list[TimelineEntry] = []
    for source in timeline_sources().values():
        merged.extend(source(customer, before, limit + 1))
    return _page(merged, limit)


# A source's entries as kept in the cache: (time, source, id, HTML) each.
DrawnEntries = list[tuple[datetime, str, int, str]]


def timeline_first_page_kept(
    *, customer: Customer, limit: int, source_keys: dict[str, str], drawn: dict, shop
) -> TimelinePage:
    """The first page, with each source's newest entries read and drawn once and then kept in the card's
    cache under `source_keys` ({source name: key}, from card_cache.card_fragments): after a touchpoint is
    logged only the touchpoints are read and drawn again. The entries drawn here are added to `drawn`,
    which the view stores after the response is rendered. The same entries and order as timeline_page.
    """
    kept = fragments_get(list(source_keys.values()))
    merged: list[TimelineEntry] = []
    for name, source in timeline_sources().items():
        key = source_keys[name]
        rows: DrawnEntries | None = kept.get(key)
        if rows is None:
            entries = source(customer, None, limit + 1)
            rows = [
                (e.at, e.source, e.pk, render_to_string(e.template, {"entry": e, "obj": e.obj, "shop": shop}))
                for e in entries
            ]
            drawn[key] = rows
        # HTML our own templates drew (user text escaped then), kept as it was drawn.
        merged.extend(
            TimelineEntry(at=at, template="", obj=None, source=src, pk=pk, html=mark_safe(html))
            for at, src, pk, html in rows
        )
    return _page(merged, limit)


def _page(merged: list[TimelineEntry], limit: int) -> TimelinePage:
    merged.sort(key=lambda e: (e.at, e.source, e.pk), reverse=True)
    page = merged[:limit]
    # More than `limit` came back: there are older entries, which start right after this page's last.
    older = page[-1].cursor if len(merged) > limit else None
    return TimelinePage(entries=page, older=older)
