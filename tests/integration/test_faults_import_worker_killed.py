"""A worker killed with SIGKILL half-way through an import: nothing half-imported, nothing doubled.

(The outbox's own SIGKILL test is in test_outbox_worker_killed.py; this one covers the import task.)
"""

import pytest

from customers.models import Customer
from dataio.models import ImportJob
from dataio.services import import_job_configure, import_job_create, import_job_start
from tests.factories import OwnerFactory
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration
ROWS = 10_000


def test_a_killed_import_is_rolled_back_and_the_redelivered_task_imports_each_row_once(
    own_redis, point_celery_at, start_worker, smtp_server
):
    owner = OwnerFactory()
    text = "First name,Last name,Email\n" + "".join(f"P{i},Row,p{i}@example.com\n" for i in range(ROWS))
    job = import_job_create(uploaded_by=owner, file_name="big.csv", raw=text.encode())
    # A short visibility timeout so the unacknowledged task comes back soon after the crash.
    extra = {"CELERY_VISIBILITY_TIMEOUT": "5"}
    worker = start_worker(redis_url=own_redis.url, email_url=smtp_server.url, **extra)
    point_celery_at(own_redis.url)

    import_job_configure(job=job, configured_by=owner, mapping=job.mapping, date_order="dmy")
    wait_until(lambda: ImportJob.objects.get(pk=job.pk).status == "checked", timeout=120, message="the check")
    job.refresh_from_db()
    import_job_start(job=job, started_by=owner, mode="all", on_match="skip")
    # Progress is reported on its own connection while the import's transaction is open.
    wait_until(
        lambda: ImportJob.objects.get(pk=job.pk).processed_rows > 0,
        timeout=120,
        interval=0.05,
        message="the import to be under way",
    )

    worker.kill()
    job.refresh_from_db()
    assert job.status == "importing"
    assert Customer.objects.count() == 0  # the open transaction died with the worker

    start_worker(redis_url=own_redis.url, email_url=smtp_server.url, **extra)
    wait_until(
        lambda: ImportJob.objects.get(pk=job.pk).status == "done",
        timeout=180,
        interval=0.5,
        message="the redelivered import to finish",
    )
    job.refresh_from_db()
    assert job.created_count == ROWS
    assert Customer.objects.count() == ROWS
    assert Customer.objects.values("email").distinct().count() == ROWS
