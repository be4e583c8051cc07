"""Counting a page's or a service's own SQL statements, on PostgreSQL with Redis and on SQLite alike."""

from django.test.utils import CaptureQueriesContext


def app_queries(captured: CaptureQueriesContext) -> list[str]:
    """The statements captured, less the cache's own: without Redis the cache is a database table, whose
    reads and writes (and their savepoints) are not what a query-count test is about."""
    return [
        q["sql"] for q in captured.captured_queries if "rapport_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]
    ]
