"""SQL shared by the apps' selectors: a row's related names, and whether a row has related rows.

Each is written out from the models' metadata (the documented `_meta` API): built as querysets
(a Subquery over the through model, an Exists()) they took ~0.5 ms of Python each to compile,
as much as the separate query they saved. `RelatedNames` wraps the first as a query expression
for `annotate()`; the friend card's hand-written query (customers.selectors) uses both directly.
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import F, Func, JSONField


def column_sql(model: Any, name: str, alias: str, connection: Any) -> str:
    """`alias."column"`: the quoted column of `model`'s field `name` in a hand-written query."""
    return f"{alias}.{connection.ops.quote_name(model._meta.get_field(name).column)}"


def columns_sql(model: Any, alias: str, connection: Any, names: Iterable[str] = ()) -> list[str]:
    """column_sql of the id and the fields `names`, or of every concrete field when none are named."""
    fields = (
        [model._meta.pk, *(model._meta.get_field(name) for name in names)] if names else model._meta.concrete_fields
    )
    return [f"{alias}.{connection.ops.quote_name(field.column)}" for field in fields]


def joined_names_sql(alias: str, names: Iterable[str], prefix: str, connection: Any) -> list[str]:
    """`alias."name" AS "<prefix>name"` for each of a joined row's `names`, for `joined_object`."""
    qn = connection.ops.quote_name
    return [f"{alias}.{qn(name)} AS {qn(prefix + name)}" for name in names]


def joined_object(model: Any, pk: int | None, row: Any, prefix: str, names: Iterable[str]) -> Any:
    """A `model` instance with only its id and the `names` that `joined_names_sql` put on `row` (what a
    page shows of a related object read in the row's own query), or None when `pk` is None. Assigned
    to the row's foreign key, it is read with no query."""
    return model(pk=pk, **{name: getattr(row, prefix + name) for name in names}) if pk is not None else None


def related_names_sql(model, field_name: str, row_id: str, connection, *, with_ids: bool = False) -> str:
    """A subquery: the names of the row `row_id`'s (SQL) many-to-many `field_name` objects, A-Z, as a
    JSON list of names or of [id, name] pairs, in text. The related model needs a `name` column.
    PostgreSQL: json_agg; SQLite: json_group_array."""
    qn = connection.ops.quote_name
    field = model._meta.get_field(field_name)
    through = field.remote_field.through._meta
    related = field.related_model._meta
    source = qn(through.get_field(field.m2m_field_name()).column)
    target = qn(through.get_field(field.m2m_reverse_field_name()).column)
    pk, name = qn(related.pk.column), qn("name")
    rows = (
        f"SELECT r.{pk} AS id, r.{name} AS name FROM {qn(through.db_table)} m "
        f"JOIN {qn(related.db_table)} r ON r.{pk} = m.{target} WHERE m.{source} = {row_id}"
    )
    if connection.vendor == "postgresql":
        value = "json_build_array(s.id, s.name)" if with_ids else "s.name"
        # ::text so it is read as SQLite's text is.
        return f"(SELECT COALESCE(json_agg({value} ORDER BY s.name, s.id), '[]')::text FROM ({rows}) s)"
    value = "json_array(s.id, s.name)" if with_ids else "s.name"
    return f"(SELECT json_group_array({value}) FROM ({rows} ORDER BY r.{name}, r.{pk}) s)"


def rows_exist_sql(model, field: str, row_id: str, connection, **values_in: Iterable) -> tuple[str, list]:
    """(sql, params): whether `model` has rows whose foreign key `field` points at the row `row_id`
    (SQL), and whose columns named in `values_in` hold one of its values; EXISTS (SELECT 1 ...)."""
    qn, meta = connection.ops.quote_name, model._meta
    where, params = "", list[Any]()
    for name, values in values_in.items():
        values = tuple(values)
        where += f" AND {qn(meta.get_field(name).column)} IN ({', '.join(['%s'] * len(values))})"
        params += values
    column = qn(meta.get_field(field).column)
    return f"EXISTS (SELECT 1 FROM {qn(meta.db_table)} WHERE {column} = {row_id}{where})", params


class RelatedNames(Func):
    """`related_names_sql` in a queryset: the names of each row's many-to-many related objects
    (tags, products) as a list on the row, or as [id, name] pairs; one query reads a customer and
    their tags, say, instead of two. The row's id is its one source expression, F("pk"), which
    Django resolves and compiles (the documented custom-expression API)."""

    output_field = JSONField()

    def __init__(self, field_name: str, *, with_ids: bool = False):
        super().__init__(F("pk"))
        self.field_name, self.with_ids = field_name, with_ids

    def as_sql(self, compiler, connection, *args, **kwargs):
        row_id, params = compiler.compile(self.get_source_expressions()[0])
        return related_names_sql(
            compiler.query.model, self.field_name, row_id, connection, with_ids=self.with_ids
        ), params
