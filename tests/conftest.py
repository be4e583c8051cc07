import os

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM would
# otherwise refuse to run beside it (SynchronousOnlyOperation).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; under CI=true a missing service is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: nothing may skip)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    """Users are made in almost every test: PBKDF2's million rounds cost ~1 s a user on this machine.

    Integration tests keep the real hasher, since their subprocesses (worker, web server)
    read the production settings and must accept the stored hashes.
    """
    if "integration" not in request.keywords:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Unit tests run tasks inline; integration tests talk to a real worker instead."""
    from crm.celery import app

    eager = "integration" not in request.keywords
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _empty_cache(django_db_setup, django_db_blocker):
    """Every test starts with an empty cache: Redis keys and database cache rows outlive a test's rollback,
    and a friend card cached by one test must not be served to the next (SQLite reuses ids)."""
    from django.core.cache import cache

    with django_db_blocker.unblock():
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_shop_settings(db):
    """Every test starts with the default shop settings row."""
    from crm.models import ShopSettings

    ShopSettings.load()


@pytest.fixture
def owner(db):
    from tests.factories import OwnerFactory

    return OwnerFactory()


@pytest.fixture
def staff(db):
    from tests.factories import StaffFactory

    return StaffFactory()


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request, db):
    """Rate-limit counters live in the shared cache (Redis or the database): each test starts from none."""
    if "integration" not in request.keywords:
        from django.core.cache import cache

        cache.clear()
