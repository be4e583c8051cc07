"""Migration operations that only run on PostgreSQL (pg_trgm and its GIN indexes).

SQLite has no pg_trgm; the GIN indexes stay in Meta.indexes so makemigrations stays clean.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


def _on_postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class PostgresTrigramExtension(TrigramExtension):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresOnlyAddIndex(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresOnlyAddConstraint(migrations.AddConstraint):
    """A CHECK on the customer table, added on PostgreSQL only.

    SQLite adds a constraint by rebuilding the table, and rebuilding it re-creates the search
    indexes, whose operator classes (text_pattern_ops) SQLite cannot parse. There the model's
    validators (full_clean in every service) hold the same limit.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _on_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
