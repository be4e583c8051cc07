"""Two requests with the same Idempotency-Key at the same moment: one does the work, the other answers
with its result. PostgreSQL only: the second request waits on the key's unique index while the first
is still working (SQLite has one writer at a time and never overlaps them)."""

import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client

from customers.models import Customer
from tests.api.conftest import Api
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL answers from its first look at the activity unless told to look again.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Still waiting for {what}")
        time.sleep(0.05)


def test_two_requests_with_one_key_at_once_create_one_customer_and_answer_alike(key_and_raw):
    if connection.vendor != "postgresql":
        skip_or_fail("two writers at once need PostgreSQL (set DATABASE_URL)")
    headers = {"Idempotency-Key": "till-order-5512"}
    answers: dict[str, object] = {}

    def post(name: str) -> None:
        try:
            answers[name] = Api(Client(), key_and_raw[1]).post("/api/v1/customers/", {"first_name": "Ann"}, headers)
        except Exception as error:  # noqa: BLE001 - surfaced by the assertions below
            answers[name] = error
        finally:
            connections.close_all()  # this thread's own connection

    # Hold the customers table so the first request stops after inserting its key, mid-work.
    with connections["default"].cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("LOCK TABLE customers_customer IN EXCLUSIVE MODE")
        first = threading.Thread(target=post, args=("first",))
        first.start()
        _wait_until(lambda: _waiting_on_locks() >= 1, "the first request to wait on the customers table")
        second = threading.Thread(target=post, args=("second",))
        second.start()
        _wait_until(lambda: _waiting_on_locks() >= 2, "the second request to wait on the first one's key")
        cursor.execute("COMMIT")
    first.join(30)
    second.join(30)

    one, two = answers["first"], answers["second"]
    assert one.status_code == two.status_code == 201
    assert one.json() == two.json()
    assert two.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in one.headers
    assert Customer.objects.filter(first_name="Ann").count() == 1
