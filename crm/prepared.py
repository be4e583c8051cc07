"""Querysets whose SQL is built once per process and run again with new values.

Django builds a query's SQL anew each time it runs: resolving the joins, the selected columns, the
ordering and every lookup. For the small indexed reads of a page that costs far more CPU than
PostgreSQL spends answering (about 1.5 ms against 0.2 ms for a friend card's follow-ups on a slow
machine), and the card runs a dozen of them. A PreparedQuery builds its queryset once with
placeholders, keeps the SQL and the compiler's plan for turning rows into objects, and then only
binds values, runs the SQL and builds the objects, the way QuerySet iteration does.

    open_followups = PreparedQuery(
        lambda customer_id: FollowUp.objects.filter(customer_id=customer_id).order_by("due_date"),
        customer_id=IntegerField(),
    )
    open_followups.fetch(customer_id=customer.pk)  # -> list[FollowUp]

Only for querysets of a fixed shape. Each declared parameter becomes one bound value (never None:
`= NULL` matches nothing). Any other keyword (a LIMIT, today's date in a yearly window) changes the
SQL, so it is passed to the builder as it is and each distinct value gets its own prepared SQL; the
oldest are dropped past MAX_PLANS. Model rows (with
select_related, only() and annotations) and values_list() rows are supported.
"""

import threading
from collections.abc import Callable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Expression, Field, QuerySet
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesListIterable, get_related_populators
from django.db.transaction import TransactionManagementError


class Placeholder(Expression):
    """A value bound when the prepared SQL runs; compiles to one %s."""

    def __init__(self, name: str, output_field: Field):
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler, connection):
        return "%s", [self]


class _Plan:
    """The SQL of one shape on one connection, and how to turn its rows into results."""

    def __init__(self, queryset: QuerySet, using: str):
        self.using = using
        self.model = queryset.model
        self.iterable_class = queryset._iterable_class
        if self.iterable_class not in (ModelIterable, ValuesListIterable, FlatValuesListIterable):
            raise TypeError(f"PreparedQuery cannot read {self.iterable_class.__name__} rows")
        if queryset._prefetch_related_lookups:
            raise TypeError("PreparedQuery runs one query: no prefetch_related()")
        self.locks_rows = queryset.query.select_for_update
        self.compiler = queryset.query.get_compiler(using=using)
        try:
            self.sql, self.params = self.compiler.as_sql()  # also fills select, klass_info, annotation_col_map
        except EmptyResultSet:  # e.g. a [0:0] slice: no rows whatever the values, and no SQL to run
            self.sql = None
            return
        if self.iterable_class is ModelIterable:
            klass_info, select = self.compiler.klass_info, self.compiler.select
            self.start, self.end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            self.init_list = [column[0].target.attname for column in select[self.start:self.end]]
            self.related_populators = get_related_populators(klass_info, select, using)

    def bind(self, values: dict[str, Any]) -> list:
        connection = connections[self.using]
        return [
            p.output_field.get_db_prep_value(values[p.name], connection) if isinstance(p, Placeholder) else p
            for p in self.params
        ]

    def run(self, values: dict[str, Any]) -> list:
        if self.sql is None:
            return []
        connection = connections[self.using]
        if self.locks_rows and connection.get_autocommit():
            # Django checks this when it builds the SQL, which happens here only once.
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.bind(values))
            rows = self.compiler.results_iter([cursor.fetchall()])
        if self.iterable_class is FlatValuesListIterable:
            return [row[0] for row in rows]
        if self.iterable_class is ValuesListIterable:
            return [tuple(row) for row in rows]
        return [self._model(row) for row in rows]

    def _model(self, row):
        obj = self.model.from_db(self.using, self.init_list, row[self.start:self.end])
        for populator in self.related_populators:
            populator.populate(row, obj)
        for name, position in self.compiler.annotation_col_map.items():
            setattr(obj, name, row[position])
        return obj


class PreparedQuery:
    MAX_PLANS = 32  # shapes x connections kept per query; a long-lived worker sees a new day's shape daily

    def __init__(self, build: Callable[..., QuerySet], **params: Field):
        self.build = build
        self.params = params
        self._plans: dict[tuple, _Plan] = {}
        self._lock = threading.Lock()

    def __deepcopy__(self, memo):
        return self  # built SQL is shared, as by the form fields that are copied for each form

    def fetch(self, *, using: str = "default", **values) -> list:
        """The rows for these values: a list of model instances or values_list() rows."""
        return self._plan(using, values).run(values)

    def get(self, *, using: str = "default", **values):
        """The one row for these values, as QuerySet.get(): the model's DoesNotExist or MultipleObjectsReturned."""
        plan = self._plan(using, values)
        rows = plan.run(values)
        if len(rows) != 1:
            error = plan.model.DoesNotExist if not rows else plan.model.MultipleObjectsReturned
            raise error(f"{len(rows)} {plan.model._meta.object_name} rows for {values}.")
        return rows[0]

    def explain(self, *, using: str = "default", **values) -> str:
        """EXPLAIN of the SQL these values run (with ANALYZE on PostgreSQL), for benchmarks."""
        plan = self._plan(using, values)
        connection = connections[using]
        options = {"analyze": True} if connection.vendor == "postgresql" else {}
        with connection.cursor() as cursor:
            cursor.execute(f"{connection.ops.explain_query_prefix(**options)} {plan.sql}", plan.bind(values))
            return "\n".join(str(row[-1]) for row in cursor.fetchall())

    def _plan(self, using: str, values: dict) -> _Plan:
        shape = tuple(sorted((k, v) for k, v in values.items() if k not in self.params))
        # Per connection object: the compiler it keeps belongs to one thread's connection.
        key = (id(connections[using]), using, shape)
        plan = self._plans.get(key)
        if plan is None:
            placeholders = {name: Placeholder(name, field) for name, field in self.params.items()}
            plan = _Plan(self.build(**placeholders, **dict(shape)), using)
            with self._lock:
                if len(self._plans) >= self.MAX_PLANS:
                    self._plans.pop(next(iter(self._plans)))
                self._plans[key] = plan
        return plan
