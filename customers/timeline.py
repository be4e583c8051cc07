"""The friend card's timeline: entries from every registered source, merged, keyset-paginated.

A page costs a fixed number of queries however long the history is: each source is asked for at
most `limit + 1` entries after the cursor, and entries at the same moment (backdated to the same
minute, say) are neither skipped nor repeated. Sources register in `customers.registry`.
"""

from dataclasses import dataclass, replace
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


# A source's newest entries as kept in the cache: (time, source, id, HTML) each, the HTML "" for an entry
# not yet shown (drawn only when it reaches the first page: a source's 11 are rarely all shown).
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
    rows: dict[str, DrawnEntries] = {}
    read: dict[str, dict[tuple[str, int], TimelineEntry]] = {}  # the sources read now, their entries by id

    def read_source(name: str) -> None:
        entries = timeline_sources()[name](customer, None, limit + 1)
        read[name] = {(e.source, e.pk): e for e in entries}
        rows[name] = [(e.at, e.source, e.pk, "") for e in entries]

    for name, key in source_keys.items():
        if kept.get(key) is None:
            read_source(name)
        else:
            rows[name] = kept[key]
    while True:
        page = _page(
            [TimelineEntry(at, "", None, src, pk, html) for name in rows for at, src, pk, html in rows[name]], limit
        )
        shown = {(e.source, e.pk) for e in page.entries if not e.html}
        # An entry kept without its HTML reached the page (something newer went): read its source again.
        stale = [name for name in rows if name not in read and shown & {(src, pk) for _, src, pk, _ in rows[name]}]
        if not stale:
            break
        for name in stale:
            read_source(name)
    for name, entries in read.items():
        rows[name] = [
            (at, src, pk, _draw(entries[src, pk], shop) if (src, pk) in shown else html)
            for at, src, pk, html in rows[name]
        ]
        drawn[source_keys[name]] = rows[name]
    html = {(src, pk): h for name in rows for _, src, pk, h in rows[name]}
    # HTML our own templates drew (user text escaped then), kept as it was drawn.
    return TimelinePage(
        entries=[replace(e, html=mark_safe(html[e.source, e.pk])) for e in page.entries], older=page.older
    )


def _draw(entry: TimelineEntry, shop) -> str:
    return render_to_string(entry.template, {"entry": entry, "obj": entry.obj, "shop": shop})


def _page(merged: list[TimelineEntry], limit: int) -> TimelinePage:
    merged.sort(key=lambda e: (e.at, e.source, e.pk), reverse=True)
    page = merged[:limit]
    # More than `limit` came back: there are older entries, which start right after this page's last.
    older = page[-1].cursor if len(merged) > limit else None
    return TimelinePage(entries=page, older=older)
