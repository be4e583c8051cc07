import pytest

from tests.integration.conftest import wait_until


@pytest.mark.integration
def test_a_real_worker_starts_against_the_test_database_and_redis(start_worker, shared_redis_url, smtp_server):
    worker = start_worker(redis_url=shared_redis_url, email_url=smtp_server.url)

    assert "crm" in worker.log()
    wait_until(lambda: worker.process.poll() is None, message="worker alive")
