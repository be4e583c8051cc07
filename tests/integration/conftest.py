"""Real parts for integration tests: an SMTP server, a Redis of our own, a Celery worker.

Tests here use django_db(transaction=True) so a worker process sees their rows,
and need PostgreSQL (SQLite's in-memory test database is private to this process).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import skip_or_fail

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    """Poll until predicate() is truthy; fail the test with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout}s waiting for {message}")


@pytest.fixture
def postgres_db(transactional_db):
    if connection.vendor != "postgresql":
        skip_or_fail("integration tests need PostgreSQL: set DATABASE_URL")
    return connection


# --- SMTP ---------------------------------------------------------------------


@dataclass
class RecordingSMTP:
    """An aiosmtpd server that records what it receives; `replies` scripts its answers."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list = field(default_factory=list)
    # Codes to answer DATA with, in order (e.g. ["451 Try later"]); empty means "250 OK".
    replies: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.replies:
                return self.replies.pop(0)
            self.received.append({"to": list(envelope.rcpt_tos), "message": message_from_bytes(envelope.content)})
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def messages_to(self, address: str) -> list:
        with self.lock:
            return [r["message"] for r in self.received if address in r["to"]]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = RecordingSMTP(port=free_port())  # Controller(port=0) refuses: start() connects to the port it was given
    controller = Controller(handler, hostname=handler.host, port=handler.port)
    controller.start()
    yield handler
    controller.stop()


# --- Redis ----------------------------------------------------------------------


@dataclass
class RedisServer:
    port: int
    workdir: str
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.ping, timeout=10, message="redis-server to start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            return False


@pytest.fixture
def own_redis():
    """A redis-server of this test's own, which it may stop and restart freely."""
    if not shutil.which("redis-server"):
        skip_or_fail("redis-server is not installed")
    server = RedisServer(port=free_port(), workdir=tempfile.mkdtemp(prefix="rapport-redis-"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shared_redis_url():
    url = os.environ.get("REDIS_URL", "")
    if not url:
        skip_or_fail("integration tests need Redis: set REDIS_URL")
    return url


# --- Celery worker ---------------------------------------------------------------


def database_url_for_worker() -> str:
    """The test database (test_<name>), as a URL: the worker reads its settings on its own, not this process's."""
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class CeleryWorker:
    redis_url: str
    email_url: str
    extra_env: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: str = ""

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_worker(),
            "REDIS_URL": self.redis_url,
            "EMAIL_URL": self.email_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CONN_MAX_AGE": "0",
            **self.extra_env,
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.log_path = tempfile.mktemp(prefix="rapport-worker-", suffix=".log")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname=test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=open(self.log_path, "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: "ready." in self.log(), timeout=60, message="the Celery worker to be ready")

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text()
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        # SIGTERM only the main process: it shuts its pool down warmly (a group SIGTERM loses tasks in flight).
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def _drop_broker_pools(app) -> None:
    """Close the connection and producer pools and forget them, so the next .delay() builds new ones.

    force_close_all() alone leaves the closed pool in place ("Acquire on closed pool" on the next .delay()).
    """
    from kombu import pools

    app.pool.force_close_all()
    pools.reset()  # kombu keeps pools per broker URL: a closed one would be handed out again
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def point_celery_at():
    """Point this process's Celery app at a broker (to .delay() into the real worker)."""
    from crm.celery import app

    previous = app.conf.broker_url

    def point(url: str) -> None:
        app.conf.broker_url = url
        _drop_broker_pools(app)
        app.connection_for_write().ensure_connection(max_retries=3)

    yield point
    app.conf.broker_url = previous
    _drop_broker_pools(app)


@pytest.fixture
def start_worker(postgres_db):
    """start_worker(redis_url=..., email_url=...) starts a real worker; stopped after the test."""
    workers: list[CeleryWorker] = []

    def start(*, redis_url: str, email_url: str, **extra_env) -> CeleryWorker:
        worker = CeleryWorker(redis_url=redis_url, email_url=email_url, extra_env=extra_env)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
