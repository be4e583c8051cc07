"""A customer's timeline: touchpoints merged with entries from other apps (e.g. the outbox).

Other apps register a source in their AppConfig.ready(); this app never imports them.
Pagination is by keyset: entries are ordered newest first by (time, source, id), a page ends at
a cursor of those three, and each page asks every source for at most `limit + 1` entries after
the cursor. A page costs a fixed number of queries however long the history is, and entries at
the same moment (backdated to the same minute, say) are neither skipped nor repeated.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q


@dataclass(frozen=True)
class TimelineCursor:
    at: datetime
    source: str  # e.g. "tp"; "" for a cursor that is a time only (older links)
    pk: int

    def after_q(self, *, source: str, at_field: str) -> Q:
        """This source's rows that come after the cursor, newest first by (at, source, pk)."""
        if source < self.source:
            return Q(**{f"{at_field}__lte": self.at})
        if source > self.source:
            return Q(**{f"{at_field}__lt": self.at})
        # "<= at" first so the index on (…, at) still bounds the scan, however deep the page.
        return Q(**{f"{at_field}__lte": self.at}) & (Q(**{f"{at_field}__lt": self.at}) | Q(pk__lt=self.pk))

    @property
    def param(self) -> str:
        """For ?before=: the time, the source and the id, with "~" between."""
        return f"{self.at.isoformat()}~{self.source}~{self.pk}"

    @classmethod
    def parse(cls, value: str) -> "TimelineCursor":
        """The inverse of `param`; a bare ISO time too. ValueError for anything else."""
        at, _, rest = value.partition("~")
        source, _, pk = rest.partition("~")
        if rest and not (source.isidentifier() and pk.isdigit()):
            raise ValueError(f"not a timeline cursor: {value!r}")
        return cls(at=datetime.fromisoformat(at), source=source, pk=int(pk or 0))


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    template: str  # fragment that renders `entry.obj`
    obj: Any
    source: str  # short name of the source, e.g. "tp"; with `pk`, orders entries of one moment
    pk: int

    @property
    def cursor(self) -> TimelineCursor:
        return TimelineCursor(at=self.at, source=self.source, pk=self.pk)


# source(customer, before, limit) -> at most `limit` entries after the cursor `before` (from the
# newest if None), newest first.
TimelineSource = Callable[[Any, TimelineCursor | None, int], list[TimelineEntry]]

_sources: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> TimelineSource:
    if source not in _sources:
        _sources.append(source)
    return source


def timeline_sources() -> list[TimelineSource]:
    return list(_sources)
