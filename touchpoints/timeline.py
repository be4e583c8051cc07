"""A customer's timeline: touchpoints merged with entries from other apps (e.g. the outbox).

Other apps register a source in their AppConfig.ready(); this app never imports them.
Pagination is by time (keyset): each page asks every source for at most `limit + 1`
entries older than `before`, so a page costs a fixed number of queries however long
the history is.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    template: str  # fragment that renders `entry.obj`
    obj: Any
    key: str = field(default="")  # tie-breaker for equal times, e.g. "tp:42"


# source(customer, before, limit) -> entries older than `before` (all if None), newest first.
TimelineSource = Callable[[Any, datetime | None, int], list[TimelineEntry]]

_sources: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> TimelineSource:
    if source not in _sources:
        _sources.append(source)
    return source


def timeline_sources() -> list[TimelineSource]:
    return list(_sources)
