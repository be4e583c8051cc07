"""Counting a page's or a service's own SQL statements, on PostgreSQL with Redis and on SQLite alike."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext


def app_queries(captured: CaptureQueriesContext) -> list[str]:
    """The statements captured, less the cache's own: without Redis the cache is a database table, whose
    reads and writes (and their savepoints) are not what a query-count test is about."""
    return [
        q["sql"] for q in captured.captured_queries if "rapport_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]
    ]


# A prepared statement's run by name (crm.statements), with the name.
_EXECUTE = re.compile(r"EXECUTE (rapport_\w+)")


def executed_sql(captured: CaptureQueriesContext) -> list[str]:
    """The SQL of each statement captured; a prepared statement's run (crm.statements: `EXECUTE name(…)`,
    which names no table) as the text it was prepared from, so that a test can see what it reads."""
    sql = [q["sql"] for q in captured.captured_queries]
    names = {match[1] for text in sql if (match := _EXECUTE.match(text))}
    if not names:
        return sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements WHERE name = ANY(%s)", [list(names)])
        prepared = dict(cursor.fetchall())
    return [prepared[match[1]] if (match := _EXECUTE.match(text)) else text for text in sql]
