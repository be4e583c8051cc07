"""Two tills redeeming the same code at the same moment: exactly one wins (PostgreSQL row locks)."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from gifts.models import GiftCode
from gifts.services import gift_code_redeem
from tests.conftest import skip_or_fail
from tests.factories import GiftCodeFactory, StaffFactory
from touchpoints.models import Touchpoint
from touchpoints.signals import touchpoint_logged


def _redeem_in_thread(code: str, user, results: dict, name: str) -> None:
    try:
        results[name] = gift_code_redeem(code=code, redeemed_by=user)
    except ValidationError as error:
        results[name] = error
    except Exception as error:  # noqa: BLE001 - surfaced by the assertions below
        results[name] = error
    finally:
        connections.close_all()  # each thread has its own connection; don't leak it


def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("row locks need PostgreSQL (set DATABASE_URL)")


@pytest.mark.django_db(transaction=True)
def test_a_second_till_waits_for_the_first_and_is_then_told_the_code_was_redeemed():
    _needs_postgresql()
    gift = GiftCodeFactory()
    first, second = StaffFactory(first_name="Ana", last_name="First"), StaffFactory()
    inside_first, release_first = threading.Event(), threading.Event()

    def hold_first_open(sender: type, *, touchpoint, **kwargs) -> None:
        # Runs inside till A's transaction, after it has locked and claimed the code.
        if threading.current_thread().name == "till-a":
            inside_first.set()
            release_first.wait(10)

    touchpoint_logged.connect(hold_first_open)
    results: dict = {}
    try:
        till_a = threading.Thread(target=_redeem_in_thread, args=(gift.code, first, results, "a"), name="till-a")
        till_a.start()
        assert inside_first.wait(10), "till A never reached its touchpoint"
        till_b = threading.Thread(target=_redeem_in_thread, args=(gift.code, second, results, "b"), name="till-b")
        till_b.start()
        # Wait until till B is really blocked on A's row lock, so the race is certain.
        for _ in range(200):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0] >= 1:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("till B never waited for till A's lock")
        release_first.set()
        till_a.join(15)
        till_b.join(15)
    finally:
        release_first.set()
        touchpoint_logged.disconnect(hold_first_open)

    assert isinstance(results["a"], GiftCode)
    assert isinstance(results["b"], ValidationError) and results["b"].code == "redeemed"
    assert "by Ana First" in results["b"].messages[0]
    gift.refresh_from_db()
    assert gift.redeemed_by == first
    assert Touchpoint.objects.filter(kind=Touchpoint.Kind.GIFT).count() == 1


@pytest.mark.django_db(transaction=True)
def test_six_tills_redeeming_one_code_at_once_give_exactly_one_success():
    _needs_postgresql()
    gift = GiftCodeFactory()
    tills = [StaffFactory() for _ in range(6)]
    start = threading.Barrier(len(tills))
    results: dict = {}

    def go(i: int) -> None:
        start.wait(10)
        _redeem_in_thread(gift.code, tills[i], results, f"till-{i}")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(tills))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    wins = [r for r in results.values() if isinstance(r, GiftCode)]
    refusals = [r for r in results.values() if isinstance(r, ValidationError) and r.code == "redeemed"]
    assert (len(wins), len(refusals)) == (1, 5), results
    gift.refresh_from_db()
    assert gift.redeemed_by == wins[0].redeemed_by
    assert Touchpoint.objects.filter(kind=Touchpoint.Kind.GIFT).count() == 1
