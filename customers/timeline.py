"""The friend card's timeline: entries from every registered source, merged, keyset-paginated.

A page costs a fixed number of queries however long the history is: each source is asked for at
most `limit + 1` entries after the cursor, and entries at the same moment (backdated to the same
minute, say) are neither skipped nor repeated. Sources register in `customers.registry`.
"""

from dataclasses import dataclass

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
    for source in timeline_sources():
        merged.extend(source(customer, before, limit + 1))
    merged.sort(key=lambda e: (e.at, e.source, e.pk), reverse=True)
    page = merged[:limit]
    # More than `limit` came back: there are older entries, which start right after this page's last.
    older = page[-1].cursor if len(merged) > limit else None
    return TimelinePage(entries=page, older=older)
