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

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from crm.expressions import column_sql, columns_sql, rows_exist_sql
from crm.statements import prepared_raw

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

    def after_sql(
        self, *, source: str, at_field: Any, at_column: str, pk_column: str, connection: Any
    ) -> tuple[str, list]:
        """`after_q` for a hand-written query: (sql, params) over these (quoted) columns."""
        at = at_field.get_db_prep_value(self.at, connection)
        if source < self.source:
            return f"{at_column} <= %s", [at]
        if source > self.source:
            return f"{at_column} < %s", [at]
        return f"{at_column} <= %s AND ({at_column} < %s OR {pk_column} < %s)", [at, at, self.pk]

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


def newest_rows(
    model: Any,
    *,
    customer_id: int,
    before: TimelineCursor | None,
    limit: int,
    source: str,
    at_field: str,
    fields: Iterable[str] = (),
    select: Iterable[str] = (),
    join: str = "",
    where: Iterable[str] = (),
    params: Iterable[Any] = (),
) -> list:
    """A timeline source's rows: at most `limit` of `model`'s rows (aliased `t`) for this customer after
    the cursor `before`, newest first by `at_field` then id, with only `fields` (default: every column)
    and the SQL expressions in `select` (`… AS name`, attributes on the rows), `join`, and the conditions
    in `where` with their `params`.

    Hand-written for raw() from the models' metadata: built with the ORM each source's query took
    0.5-0.7 ms of Python to compile, about as long as PostgreSQL took to run it, on every first visit of
    a card.
    """
    after, after_params = "", list[Any]()
    if before is not None:
        after, after_params = before.after_sql(
            source=source,
            at_field=model._meta.get_field(at_field),
            at_column=column_sql(model, at_field, "t", connection),
            pk_column=column_sql(model, "id", "t", connection),
            connection=connection,
        )
    sql = _newest_rows_sql(model, connection.vendor, at_field, tuple(fields), tuple(select), join, (*where, after))
    return prepared_raw(model, sql, [customer_id, *params, *after_params, limit])


@functools.lru_cache(maxsize=64)
def _newest_rows_sql(
    model: Any, vendor: str, at_field: str, fields: tuple, select: tuple, join: str, where: tuple
) -> str:
    """newest_rows' SQL, written once per process for each source and kind of cursor (the arguments are
    the cache's key): writing it took about 0.1 ms, a tenth of running it."""
    at_column, pk_column = column_sql(model, at_field, "t", connection), column_sql(model, "id", "t", connection)
    conditions = [f"{column_sql(model, 'customer', 't', connection)} = %s", *filter(None, where)]
    return (
        f"SELECT {', '.join([*columns_sql(model, 't', connection, fields), *select])}"
        f" FROM {connection.ops.quote_name(model._meta.db_table)} t {join} WHERE {' AND '.join(conditions)}"
        f" ORDER BY {at_column} DESC, {pk_column} DESC LIMIT %s"
    )


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


def card_row_names() -> tuple[str, ...]:
    """The registered kinds of card rows: what the card's query (customers.selectors) is built from."""
    return tuple(_card_rows)


def card_rows_sql(row_id: str, connection: Any) -> dict[str, tuple[str, list]]:
    """For the card's customer query: {`card_has_<name>`: (EXISTS sql, params)} for each registered
    kind of row, `row_id` being the customer's id in that query's SQL."""
    return {
        f"card_has_{name}": rows_exist_sql(model, field, row_id, connection, **values_in)
        for name, (model, field, values_in) in _card_rows.items()
    }


def card_has(customer: Any, name: str) -> bool:
    """False when the card's query of this customer found no such rows, so the read can be skipped;
    True when it found some or was not asked (a customer read some other way)."""
    return getattr(customer, f"card_has_{name}", True)
