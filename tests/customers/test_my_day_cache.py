"""My day's lists come from the cache until something on them changes: never a stale list."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.services import (
    customer_archive,
    customer_create,
    customer_update,
    followup_done,
    followup_open,
    important_date_add,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 10, 12, tzinfo=UTC)
TODAY = NOON.date()
LIST_TABLES = ('"customers_followup"', '"customers_importantdate"', '"birthday_month"')


@pytest.fixture(autouse=True)
def _noon():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def pal(staff):
    pal = CustomerFactory(owner=staff, first_name="Pat", birthday_day=12, birthday_month=3)
    followup_open(customer=pal, reason="Ask about the new flat", due_date=TODAY, opened_by=staff)
    return pal


def _my_day(client) -> tuple[str, str]:
    """The page, and the SQL it ran."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("customers:my_day"))
    assert response.status_code == 200
    return response.content.decode(), " ".join(q["sql"] for q in queries.captured_queries)


def _without_tokens(html: str) -> str:
    return re.sub(r'(csrfmiddlewaretoken" value|csrf-token" content)="[^"]+"', "", html)


def test_a_second_visit_reads_no_list_and_shows_the_same_page(staff_client, pal):
    first, first_sql = _my_day(staff_client)
    second, second_sql = _my_day(staff_client)

    assert "Ask about the new flat" in _followups(second) and "Pat" in second
    assert _without_tokens(second) == _without_tokens(first)
    assert all(table in first_sql for table in LIST_TABLES)
    assert not any(table in second_sql for table in LIST_TABLES)


def _followups(html: str) -> str:
    return html.split('id="todo-title"')[1].split("</section>")[0]


def test_the_cached_lists_carry_this_visits_csrf_token_and_ticking_off_works(committed, staff_client, staff, pal):
    _my_day(staff_client)
    staff_client.handler.enforce_csrf_checks = True
    html, _ = _my_day(staff_client)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    done_url = re.search(r'action="(/[^"]+/done/)"', html).group(1)

    with committed():
        response = staff_client.post(done_url, {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert "Ask about the new flat" not in _followups(_my_day(staff_client)[0])


def test_each_change_that_shows_on_my_day_shows_on_the_next_visit(committed, staff_client, staff, pal):
    _my_day(staff_client)
    with committed():
        followup_open(customer=pal, reason="Bring the catalogue", due_date=TODAY, opened_by=staff)
    assert "Bring the catalogue" in _my_day(staff_client)[0]

    with committed():
        followup_done(followup=pal.followups.get(reason="Ask about the new flat"), done_by=staff)
    assert "Ask about the new flat" not in _followups(_my_day(staff_client)[0])

    with committed():
        customer_update(customer=pal, updated_by=staff, first_name="Patricia")
    assert "Patricia" in _my_day(staff_client)[0]

    with committed():
        important_date_add(customer=pal, added_by=staff, label="Wedding anniversary", day=13, month=3)
    assert "Wedding anniversary" in _my_day(staff_client)[0]

    with committed():
        customer_create(created_by=staff, first_name="Newcomer", birthday_day=11, birthday_month=3)
    assert "Newcomer" in _my_day(staff_client)[0]

    with committed():
        customer_archive(customer=pal, archived_by=staff)
    html = _my_day(staff_client)[0]
    assert "Patricia" not in html and "Bring the catalogue" not in html


def test_a_rolled_back_change_keeps_the_cached_lists(staff_client, staff, pal):
    _my_day(staff_client)
    followup_open(customer=pal, reason="Never committed", due_date=TODAY, opened_by=staff)  # no commit

    _, sql = _my_day(staff_client)

    assert not any(table in sql for table in LIST_TABLES)


def test_the_next_day_the_lists_are_read_again(staff_client, staff, pal):
    _my_day(staff_client)

    with time_machine.travel(NOON + timedelta(days=1), tick=False):
        staff_client.force_login(staff)  # a day idle is past the session's idle timeout
        html, sql = _my_day(staff_client)

    assert "overdue since" in html and all(table in sql for table in LIST_TABLES)


def test_each_person_sees_their_own_my_day(client, staff, owner, pal):
    client.force_login(staff)
    assert "Ask about the new flat" in _my_day(client)[0]

    client.force_login(owner)
    assert "Ask about the new flat" not in _my_day(client)[0]


def test_my_day_is_drawn_afresh_when_the_cache_cannot_be_reached(staff_client, pal, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }  # nothing listens on port 1

    assert "Ask about the new flat" in _my_day(staff_client)[0]
