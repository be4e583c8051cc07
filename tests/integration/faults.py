"""Pieces for the fault tests: a TCP proxy the test can cut, and a production-like web server."""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.conftest import BASE_DIR, database_url_for_worker, free_port, wait_until


@dataclass
class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` drops every connection and refuses new ones.

    Stands in front of the test database so a test can make PostgreSQL "unavailable"
    without touching the machine's shared server.
    """

    target_host: str
    target_port: int
    port: int = field(default_factory=free_port)
    is_cut: bool = False
    _sockets: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None

    def start(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(50)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.is_cut:
                client.close()  # the server "went away": the connection drops at once
                continue
            try:
                upstream = socket.create_connection((self.target_host, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.is_cut = True
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._sockets.clear()

    def restore(self) -> None:
        self.is_cut = False

    def stop(self) -> None:
        self.cut()
        if self._listener:
            self._listener.close()


def collected_static() -> str:
    """STATIC_ROOT for a production-settings server: hashed, compressed files (whitenoise's manifest).

    Collected once into var/test-staticfiles and reused while no file under static/ is newer
    (collecting and compressing everything takes most of a minute on a busy machine).
    """
    root = BASE_DIR / "var" / "test-staticfiles"
    manifest = root / "staticfiles.json"
    newest = max(f.stat().st_mtime for f in (BASE_DIR / "static").rglob("*") if f.is_file())
    if manifest.exists() and manifest.stat().st_mtime > newest:
        return str(root)
    env = {**os.environ, "DEBUG": "False", "SECRET_KEY": secrets.token_urlsafe(50), "STATIC_ROOT": str(root)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--clear", "-v0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=300,
    )
    return str(root)


@dataclass
class WebServer:
    """gunicorn with production settings (DEBUG off), as docs/operations.md runs it."""

    database_url: str
    static_root: str
    secret_key: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "DEBUG": "False",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "False",
            "DATABASE_URL": self.database_url,
            "CONN_MAX_AGE": "0",
            "STATIC_ROOT": self.static_root,
            "REDIS_URL": "",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.log_path = tempfile.mktemp(prefix="rapport-web-", suffix=".log")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "crm.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "2",
                "--timeout",
                "30",
                "--no-control-socket",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=open(self.log_path, "w"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self._answers, timeout=60, message="gunicorn to answer")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def log(self) -> str:
        return Path(self.log_path).read_text() if self.log_path else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


def proxied_database_url(proxy: CuttableProxy) -> str:
    url = database_url_for_worker()
    host_port = url.split("@", 1)[1].split("/", 1)[0]
    return url.replace(f"@{host_port}/", f"@127.0.0.1:{proxy.port}/")
