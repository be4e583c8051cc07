"""Server-side prepared statements (PostgreSQL's PREPARE and EXECUTE) for the hot hand-written reads.

PostgreSQL parses, analyses and plans every query it is sent. For the friend card's customer query
(nine subqueries) that was most of its cost: 0.84 ms a run sent as text, 0.24 ms as EXECUTE of a
statement prepared on the connection (measured on the 100,000-customer bench database). The card's
reads on a first visit (the customer, the timeline's sources, "usually buys") run through here.

A statement is prepared on a connection the first time it is run there, in the same round trip
(`PREPARE name AS …; EXECUTE name(…)`), so a read is one statement however it runs. Its name is
made from its text, so two texts never share one and changed code prepares anew. Django keeps a
connection CONN_MAX_AGE seconds; a new one (`connection_created`) starts with none prepared.
PostgreSQL keeps a prepared statement through a rolled-back transaction and plans it again by itself
after `migrate` changes a table it reads. After any error while one ran, what the connection holds is
not known for sure: the next read there starts with DEALLOCATE ALL and prepares afresh. Both rest on
psycopg2 (the project's driver): it sends a statement and its values as one simple query, so PREPARE
and EXECUTE can travel together, and it prepares nothing of its own for DEALLOCATE ALL to drop.

Prepared statements belong to the connection, so a pooler in transaction mode (PgBouncer's default)
cannot carry them: set PREPARED_STATEMENTS=False there (docs/operations.md). Other databases, and
that setting, run the SQL as it is.
"""

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from django.conf import settings
from django.db import connection, connections
from django.db.backends.signals import connection_created
from django.dispatch import receiver

_UNSURE = "?"  # in a connection's set: an error came while a statement ran; DEALLOCATE ALL first
# The names prepared on each connection (Django has one per thread and database).
_prepared: WeakKeyDictionary[Any, set[str]] = WeakKeyDictionary()


@receiver(connection_created)
def _new_session(sender, connection, **kwargs) -> None:
    _prepared[connection] = set()


def _numbered(sql: str) -> str:
    """Django's placeholders (%s) as PostgreSQL's ($1, $2…); %% stays, for the driver's formatting."""
    numbers = iter(range(1, sql.count("%s") + 1))
    return re.sub(r"%[s%]", lambda m: m.group() if m.group() == "%%" else f"${next(numbers)}", sql)


@contextmanager
def _statement(sql: str, params: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
    """(sql, params) to run in place of these, within the block: EXECUTE of a statement prepared
    from `sql` on this thread's connection, prepared in the same round trip when it is not yet."""
    if connection.vendor != "postgresql" or not settings.PREPARED_STATEMENTS:
        yield sql, list(params)
        return
    wrapper = connections[connection.alias]  # this thread's own, not the `connection` proxy
    wrapper.ensure_connection()  # a new session empties its set (connection_created)
    names = _prepared.setdefault(wrapper, set())
    name = "rapport_" + hashlib.blake2b(sql.encode(), digest_size=8).hexdigest()
    execute = f"EXECUTE {name}({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}"
    if name not in names:
        execute = f"PREPARE {name} AS {_numbered(sql)}; {execute}"
        if _UNSURE in names:
            execute, names = f"DEALLOCATE ALL; {execute}", set()
        # Prepared even if what follows fails: a PREPARE is not undone by a rollback.
        _prepared[wrapper] = names | {name}
    try:
        yield execute, list(params)
    except Exception:
        _prepared[wrapper] = {_UNSURE}
        raise


def prepared_raw(model: Any, sql: str, params: Sequence[Any]) -> list[Any]:
    """`model.objects.raw(sql, params)` as a prepared statement (see above), its rows as a list."""
    with _statement(sql, params) as (statement, values):
        return list(model.objects.raw(statement, values))


def prepared_rows(sql: str, params: Sequence[Any]) -> list[tuple]:
    """The rows of `sql` with `params`, run as a prepared statement (see above)."""
    with _statement(sql, params) as (statement, values), connection.cursor() as cursor:
        cursor.execute(statement, values)
        return cursor.fetchall()
