"""Page reads for touchpoints: this app's source of the customer's timeline (customers.timeline merges them)."""

import functools
import json

from django.contrib.auth.models import User
from django.db import connection

from crm.expressions import column_sql, joined_names_sql, joined_object, related_names_sql
from customers.models import Customer
from customers.registry import TimelineCursor, TimelineEntry, newest_rows
from touchpoints.models import Touchpoint

TOUCHPOINT_ENTRY_TEMPLATE = "touchpoints/includes/_entry.html"


def touchpoint_entry(touchpoint: Touchpoint) -> TimelineEntry:
    return TimelineEntry(
        at=touchpoint.happened_at, template=TOUCHPOINT_ENTRY_TEMPLATE, obj=touchpoint, source="tp", pk=touchpoint.pk
    )


# Of the user who logged it, the names the timeline shows (Touchpoint.logged_by_name).
_LOGGED_BY_NAMES = ("username", "first_name", "last_name")


@functools.lru_cache(maxsize=2)
def _timeline_sql(vendor: str) -> dict:
    """newest_rows' SQL arguments for touchpoints, written once per process (`vendor` is the cache's key)."""
    users = connection.ops.quote_name(User._meta.db_table)
    touchpoint_id = column_sql(Touchpoint, "id", "t", connection)
    return {
        "select": (
            *joined_names_sql("u", _LOGGED_BY_NAMES, "logged_by_", connection),
            f"{related_names_sql(Touchpoint, 'products', touchpoint_id, connection)} AS listed_product_names",
        ),
        "join": f"LEFT JOIN {users} u ON {column_sql(User, 'id', 'u', connection)} = "
        f"{column_sql(Touchpoint, 'logged_by', 't', connection)}",
        # A "note" with no text (imported, or from before notes needed one) says nothing: not an entry.
        "where": (
            f"NOT ({column_sql(Touchpoint, 'kind', 't', connection)} = %s"
            f" AND {column_sql(Touchpoint, 'note', 't', connection)} = '')",
        ),
    }


def touchpoint_timeline_source(customer: Customer, before: TimelineCursor | None, limit: int) -> list[TimelineEntry]:
    """This app's own timeline source: one query, with the products' and the logger's names in each row."""
    rows = newest_rows(
        Touchpoint,
        customer_id=customer.pk,
        before=before,
        limit=limit,
        source="tp",
        at_field="happened_at",
        params=[Touchpoint.Kind.NOTE.value],
        **_timeline_sql(connection.vendor),
    )
    loggers: dict = {}  # one name-only User per person who logged some (a page is mostly one or two)
    for touchpoint in rows:
        touchpoint._product_names = json.loads(touchpoint.listed_product_names)  # what product_names reads
        if touchpoint.logged_by_id not in loggers:
            loggers[touchpoint.logged_by_id] = joined_object(
                User, touchpoint.logged_by_id, touchpoint, "logged_by_", _LOGGED_BY_NAMES
            )
        touchpoint.logged_by = loggers[touchpoint.logged_by_id]
    return [touchpoint_entry(t) for t in rows]
