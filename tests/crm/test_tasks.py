"""enqueue_on_commit: queued only after commit, and a dead broker never fails the page that queued."""

import logging
import socket
import threading
from datetime import timedelta

import pytest
from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from kombu import pools

from automations.models import OutboundMessage
from crm.celery import app
from crm.tasks import coalesced_started, enqueue_on_commit
from dataio.models import ImportJob
from dataio.services import import_job_configure, import_job_create, import_jobs_requeue
from tests.factories import OutboundMessageFactory

pytestmark = pytest.mark.django_db

CSV = "First name,Email\nAda,ada@example.com\nBrian,brian@example.com\n"
ran: list[int] = []


@shared_task
def record_task(*, n: int) -> None:
    ran.append(n)


def test_a_task_is_queued_only_once_the_transaction_commits(django_capture_on_commit_callbacks):
    ran.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            enqueue_on_commit(record_task, backstop="nothing", n=1)
            assert ran == []  # not while the rows it would read are uncommitted
    assert ran == [1]


def test_a_rolled_back_transaction_queues_nothing(django_capture_on_commit_callbacks):
    ran.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue_on_commit(record_task, backstop="nothing", n=2)
            raise RuntimeError("the service failed after queueing")
    assert ran == []


def test_a_coalesced_task_is_sent_once_until_it_starts(django_capture_on_commit_callbacks):
    ran.clear()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(record_task, backstop="nothing", coalesce="test:coalesce", n=1)
        # Its message waits (record_task does not say it started): asking again sends nothing.
        enqueue_on_commit(record_task, backstop="nothing", coalesce="test:coalesce", n=2)
    assert ran == [1]

    coalesced_started("test:coalesce")
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(record_task, backstop="nothing", coalesce="test:coalesce", n=3)
    assert ran == [1, 3]


@pytest.fixture
def dead_broker():
    """Celery pointed at a Redis address where nothing listens (a real refused connection), not eager."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    previous = app.conf.broker_url, app.conf.task_always_eager

    def drop_pools() -> None:
        app.pool.force_close_all()
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url, app.conf.task_always_eager = f"redis://127.0.0.1:{port}/0", False
    drop_pools()
    yield
    app.conf.broker_url, app.conf.task_always_eager = previous
    drop_pools()


def _wait_for_enqueue_threads() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("enqueue-"):
            thread.join(30)
            assert not thread.is_alive(), f"{thread.name} is still trying the broker"


def _resend(client, owner) -> str:
    message = OutboundMessageFactory(status="failed")
    response = client.post(reverse("automations:resend", args=[message.pk]))
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.PLANNED  # the row is the truth: the sweep sends it
    return response.url


def _recompute(client, owner) -> str:
    return client.post(reverse("dashboard:refresh")).url


def _check_import(client, owner) -> str:
    job = import_job_create(uploaded_by=owner, file_name="c.csv", raw=CSV.encode())
    form = {f"col_{i}": target for i, target in job.mapping.items()} | {"date_order": "dmy"}
    response = client.post(reverse("dataio:import_detail", args=[job.pk]), form)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKING and job.queued_at is not None
    return response.url


@pytest.mark.parametrize(
    "action, backstop",
    [
        (_resend, "the outbox sweep"),
        (_recompute, "the nightly run"),
        (_check_import, "import_jobs_requeue"),
    ],
)
def test_a_dead_broker_never_fails_the_page_that_queued(
    action, backstop, owner_client, owner, dead_broker, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.WARNING, logger="crm.tasks")
    with django_capture_on_commit_callbacks(execute=True):
        url = action(owner_client, owner)
    assert url  # a redirect, as when the broker is up
    _wait_for_enqueue_threads()
    [record] = [r for r in caplog.records if r.name == "crm.tasks"]
    assert "Could not queue" in record.getMessage() and backstop in record.getMessage()


def test_a_coalesced_message_the_broker_refused_does_not_block_the_next_ask(
    dead_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(record_task, backstop="nothing", coalesce="test:coalesce", n=1)
    _wait_for_enqueue_threads()

    # Nothing waits under the key, so the next webhook (say) asks the broker again at once.
    assert cache.get("test:coalesce") is None


def test_an_import_whose_task_was_lost_is_queued_again_and_then_runs(owner, django_capture_on_commit_callbacks):
    job = import_job_create(uploaded_by=owner, file_name="c.csv", raw=CSV.encode())
    lost = import_job_configure(job=job, configured_by=owner, mapping=job.mapping, date_order="dmy")
    now = timezone.now()
    ImportJob.objects.filter(pk=lost.pk).update(queued_at=now - timedelta(minutes=3))

    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_requeue(now=now) == 1  # eager in tests: the check runs right here
    lost.refresh_from_db()
    assert lost.status == ImportJob.Status.CHECKED and lost.valid_rows == 2
    assert import_jobs_requeue(now=now) == 0


def test_an_import_queued_a_moment_ago_or_already_running_is_left_alone(owner):
    now = timezone.now()
    fresh = import_job_create(uploaded_by=owner, file_name="a.csv", raw=CSV.encode())
    import_job_configure(job=fresh, configured_by=owner, mapping=fresh.mapping, date_order="dmy")
    running = import_job_create(uploaded_by=owner, file_name="b.csv", raw=CSV.encode())
    import_job_configure(job=running, configured_by=owner, mapping=running.mapping, date_order="dmy")
    ImportJob.objects.filter(pk=running.pk).update(queued_at=now - timedelta(minutes=10), processed_rows=1)

    assert import_jobs_requeue(now=now) == 0
    assert set(ImportJob.objects.values_list("status", flat=True)) == {ImportJob.Status.CHECKING}
