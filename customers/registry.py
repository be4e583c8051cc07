"""Every extension point of the friend card and the customer list, in one module.

`customers` sits below the apps that extend it and never imports them: each app registers here
from its `AppConfig.ready()`. Four registries:

- **Card panels** (`register_card_panel(CardPanel(...))`): a template fragment on the friend card.
  `column` is "side" (the narrow column), "log" (above the timeline) or "main" (under it). The
  template gets `ctx`, the dict the panel's `context(request, customer)` returns; that function
  must run a fixed number of queries.
- **Timeline sources** (`register_timeline_source(source)`): `source(customer, before, limit)`
  returns at most `limit` `TimelineEntry`s that come after the cursor `before` (None: from the
  newest), newest first. Entries sort by (time, source, id), so filter with
  `before.after_q(source="yours", at_field=...)` and order by `-time, -pk`: entries of one moment
  are then never skipped between pages. Each entry's template gets `entry` (and `entry.obj`).
- **List filters** (`register_list_filter(ListFilterExtension(...))`): one more select on the
  customer list (e.g. community's saved segments).
- **Card rows** (`register_card_rows(name, Model, ...)`): the card's own query of the customer also
  says whether they have any such rows, and a panel or timeline source that reads them asks
  `card_has(customer, name)` first: most customers have no gift codes, invitations or open
  follow-ups, and each empty read cost a card's first visit about a millisecond.

Hearing about an event is a Django signal instead, next to the model that sends it:
`touchpoints.signals.touchpoint_logged` (sent inside the transaction that logs a touchpoint).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from crm.expressions import RowsExist

# --- Card panels ----------------------------------------------------------------------


@dataclass(frozen=True)
class CardPanel:
    name: str
    template: str
    context: Callable[[Any, Any], dict]
    order: int = 50
    column: str = "side"  # "side" (narrow column), "log" (above the timeline) or "main" (under it)
    # Kept in the card's versioned cache (customers/card_cache.py): only for HTML that depends on the
    # customer's data and the day alone (nothing of the viewer but {% csrf_token %}), whose app calls
    # card_changed(ids, [panel name]) whenever that data changes.
    cached: bool = False


_panels: dict[str, CardPanel] = {}


def register_card_panel(panel: CardPanel) -> CardPanel:
    _panels[panel.name] = panel
    return panel


def card_panels() -> list[CardPanel]:
    """Every registered panel in display order."""
    return sorted(_panels.values(), key=lambda p: (p.order, p.name))


def card_panels_for(request: Any, customer: Any) -> list[dict]:
    """[{"panel": CardPanel, "ctx": {...}}] in display order, for the friend card template."""
    return [{"panel": panel, "ctx": panel.context(request, customer)} for panel in card_panels()]


# --- Timeline sources -------------------------------------------------------------------


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


TimelineSource = Callable[[Any, TimelineCursor | None, int], list[TimelineEntry]]

_sources: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> TimelineSource:
    if source not in _sources:
        _sources.append(source)
    return source


def timeline_sources() -> list[TimelineSource]:
    return list(_sources)


# --- List filters -----------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilterExtension:
    name: str  # the query-string key, e.g. "segment"
    empty_label: str  # e.g. "Any segment"
    choices: Callable[[], list[tuple[str, str]]]  # one query at most
    apply: Callable[[QuerySet, str], QuerySet]  # filter the list by the chosen value


_list_filters: dict[str, ListFilterExtension] = {}


def register_list_filter(extension: ListFilterExtension) -> ListFilterExtension:
    _list_filters[extension.name] = extension
    return extension


def list_filter_extensions() -> list[ListFilterExtension]:
    return list(_list_filters.values())


# --- Card rows ---------------------------------------------------------------------------

_card_rows: dict[str, tuple[Any, str, dict]] = {}


def register_card_rows(name: str, model: Any, field: str = "customer", **values_in: Any) -> None:
    """Let the card's query of a customer say whether `model` has rows whose `field` is that customer
    (and whose columns named in `values_in` hold one of the values given), for `card_has`."""
    _card_rows[name] = (model, field, values_in)


def card_rows_annotations() -> dict[str, RowsExist]:
    """For the card's customer query: a boolean `card_has_<name>` for each registered kind of row."""
    return {
        f"card_has_{name}": RowsExist(model, field, **values_in)
        for name, (model, field, values_in) in _card_rows.items()
    }


def card_has(customer: Any, name: str) -> bool:
    """False when the card's query of this customer found no such rows, so the read can be skipped;
    True when it found some or was not asked (a customer read some other way)."""
    return getattr(customer, f"card_has_{name}", True)
