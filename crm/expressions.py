"""Query expressions shared by the apps' selectors."""

from django.db.models import F, JSONField, QuerySet, Subquery


class JSONList(Subquery):
    """A correlated subquery's rows as a list on each outer row, so one query reads, say, a customer
    and their tags' names (the ORM would need a second query, and its compiling, for them).

    `fields` are lookups on the subquery's model; one field gives a list of values, several give a
    list of [value, value, …]. Rows keep the subquery's order_by. PostgreSQL: json_agg; SQLite:
    json_group_array.
    """

    def __init__(self, queryset: QuerySet, *fields: str):
        self.width = len(fields)
        columns = {f"c{i}": F(field) for i, field in enumerate(fields)}
        super().__init__(queryset.values(**columns), output_field=JSONField())

    def _wrap(self, sql: str, aggregate: str, row_function: str) -> str:
        row = "s.c0" if self.width == 1 else f"{row_function}({', '.join(f's.c{i}' for i in range(self.width))})"
        return f"(SELECT {aggregate.format(row=row)} FROM {sql} AS s)"

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = super().as_sql(compiler, connection, **extra_context)
        # json_agg over an ordered subquery keeps its order; ::text so JSONField parses it as on SQLite.
        return self._wrap(sql, "COALESCE(json_agg({row}), '[]')::text", "json_build_array"), params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = super().as_sql(compiler, connection, **extra_context)
        return self._wrap(sql, "json_group_array({row})", "json_array"), params
