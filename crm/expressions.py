"""Query expressions shared by the apps' selectors."""

from collections.abc import Iterable

from django.db.models import BooleanField, Expression, F, Func, JSONField


class RelatedNames(Expression):
    """The names of a row's many-to-many related objects (tags, products), A-Z, as a list on the row,
    or as [id, name] pairs: one query reads a customer and their tags, say, instead of two.

    The subquery is written out from the models' metadata: built as a queryset (a Subquery over the
    through model) it took ~0.5 ms of Python to compile, as much as the separate query it saved.
    PostgreSQL: json_agg; SQLite: json_group_array. The related model needs a `name` column.
    """

    output_field = JSONField()

    def __init__(self, field_name: str, *, with_ids: bool = False):
        super().__init__()
        self.field_name, self.with_ids = field_name, with_ids

    def as_sql(self, compiler, connection):
        qn = connection.ops.quote_name
        model = compiler.query.model
        field = model._meta.get_field(self.field_name)
        through = field.remote_field.through._meta
        related = field.related_model._meta
        row_id = f"{qn(compiler.query.get_initial_alias())}.{qn(model._meta.pk.column)}"
        source = qn(through.get_field(field.m2m_field_name()).column)
        target = qn(through.get_field(field.m2m_reverse_field_name()).column)
        pk, name = qn(related.pk.column), qn("name")
        rows = (
            f"SELECT r.{pk} AS id, r.{name} AS name FROM {qn(through.db_table)} m "
            f"JOIN {qn(related.db_table)} r ON r.{pk} = m.{target} WHERE m.{source} = {row_id}"
        )
        if connection.vendor == "postgresql":
            value = "json_build_array(s.id, s.name)" if self.with_ids else "s.name"
            # ::text so JSONField parses it as it does SQLite's text.
            return f"(SELECT COALESCE(json_agg({value} ORDER BY s.name, s.id), '[]')::text FROM ({rows}) s)", []
        value = "json_array(s.id, s.name)" if self.with_ids else "s.name"
        return f"(SELECT json_group_array({value}) FROM ({rows} ORDER BY r.{name}, r.{pk}) s)", []


class RowsExist(Func):
    """Whether `model` has rows whose foreign key `field` points at this row (and whose other columns
    hold one of `values_in`'s values): a boolean in the row's own query, EXISTS (SELECT 1 ...).

    Written out from the model's metadata like RelatedNames: an Exists() over a queryset costs
    ~0.5 ms of Python to compile, as much as the read it lets the caller skip.
    """

    output_field = BooleanField()
    template = "EXISTS (SELECT 1 FROM %(table)s WHERE %(column)s = %(expressions)s%(where)s)"

    def __init__(self, model, field: str, **values_in: Iterable):
        super().__init__(F("pk"))
        self.rows_model, self.foreign_key = model, field
        self.values_in = {name: tuple(values) for name, values in values_in.items()}

    def as_sql(self, compiler, connection, function=None, template=None, arg_joiner=None, **extra_context):
        qn, meta = connection.ops.quote_name, self.rows_model._meta
        where, params = "", list[object]()
        for name, values in self.values_in.items():
            where += f" AND {qn(meta.get_field(name).column)} IN ({', '.join(['%s'] * len(values))})"
            params += values
        sql, row_params = super().as_sql(
            compiler,
            connection,
            function,
            template,
            arg_joiner,
            table=qn(meta.db_table),
            column=qn(meta.get_field(self.foreign_key).column),
            where=where,
            **extra_context,
        )
        return sql, (*row_params, *params)
