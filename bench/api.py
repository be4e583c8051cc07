#!/usr/bin/env python
"""The JSON API and the till webhooks at 100,000 customers and 2,000,000 touchpoints (PostgreSQL).

    python bench/api.py [--webhooks 10000] [--requests 50]

On rapport_bench_api (and its 1,000-customer twin rapport_bench_api_small, for query counts), both
migrated with this branch and seeded with seed_demo, it starts gunicorn (DEBUG=False, 2 workers of 4 threads, as the Procfile) and a
Celery worker (prefork, concurrency 2, as the Procfile) on Redis, then:

1. times the API's customer search (GET /api/v1/customers/?q=<most common surname>, with a key) against
   a bare logged-in page, 50 requests each, interleaved; the bar is a median within 4x the bare page;
2. posts 10,000 signed Shopify ``orders/create`` webhooks from 8 client threads (9 in 10 for existing
   customers by email, 1 in 10 for nobody, to the inbox) and waits until the worker has processed every
   one: webhooks per second end to end, from the first POST to the last delivery processed (bar: 100/s);
3. prints a JSON last line with the figures.

Each run's orders have ids of their own; the previous run's webhook rows and purchases are removed first.
Query counts are taken in-process on both databases, so the timed processes carry no instrumentation.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from bench.pages import Browser, bench_env, free_port, manage, start_gunicorn  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432/"
BIG_DB, SMALL_DB = PG + "rapport_bench_api", PG + "rapport_bench_api_small"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
SECRET = "bench-shopify-client-secret"
SEARCH_BAR, WEBHOOK_BAR = 4.0, 100.0
PRODUCTS = ["Flat white", "Ethiopia Yirgacheffe 250g", "Croissant", "Ceramic pour-over", "Gift box", "Oat latte"]
THREADS = 8
# Two worker processes on two cores, as the Procfile runs it: drains keep them busy without waiting on
# each other (SKIP LOCKED), and in interleaved runs of 2,000 webhooks four processes were ~25% slower
# end to end (29/s against 39/s) with twice the CPU spent outside the measured processes.
WORKER_CONCURRENCY = 2
# As the Procfile runs gunicorn (2 workers, 4 threads each): a thread waiting on PostgreSQL frees the core.
GUNICORN_THREADS = 4


def env_for(database_url: str) -> dict:
    env = bench_env(database_url)
    env.update(
        REDIS_URL=REDIS_URL,
        DJANGO_SETTINGS_MODULE="bench.api_settings",
        API_THROTTLE_RATE="100000/min",
        CONN_MAX_AGE="60",
    )
    return env


def run_here(database_url: str, mode: str) -> dict:
    """This script's --setup/--cleanup modes on a database, in a process of their own."""
    result = subprocess.run(
        [sys.executable, __file__, mode], cwd=BASE_DIR, env=env_for(database_url), capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"{mode} failed on {database_url}:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- In-process modes (Django set up with the bench settings) ----------------------------------


def _django() -> None:
    import django

    django.setup()


def _setup_here() -> None:
    """Connect Shopify, make an API key, pick the search term and the buyers; count the search's queries."""
    _django()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from api.services import api_key_create
    from customers.models import Customer
    from tills.models import TillConnection

    _cleanup_here(quiet=True)
    TillConnection.objects.update_or_create(vendor="shopify", defaults={"secret": SECRET, "is_active": True})
    owner = User.objects.get(username="owner")
    _, raw = api_key_create(name=f"bench {uuid.uuid4().hex[:6]}", scopes=["read"], created_by=owner)
    surname = Customer.objects.values("last_name").annotate(n=Count("pk")).order_by("-n")[0]["last_name"]
    emails = list(
        Customer.objects.filter(is_archived=False)
        .exclude(email="")
        .order_by("?")
        .values_list("email", flat=True)[:10_000]
    )
    client = Client()
    url = "/api/v1/customers/?" + urlencode({"q": surname})
    client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}")  # warm
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code
    print(
        json.dumps(
            {
                "key": raw,
                "surname": surname,
                "emails": emails,
                "search_queries": len(ctx),
                "search_status": status,
                "customers": Customer.objects.count(),
            }
        )
    )


def _cleanup_here(quiet: bool = False) -> None:
    """Remove what earlier runs' webhooks made (deliveries, purchases and their touchpoints)."""
    if not quiet:
        _django()
    from tills.models import TillDelivery, TillPurchase
    from touchpoints.models import Touchpoint

    bench = TillPurchase.objects.filter(vendor="shopify", external_id__startswith="9")
    Touchpoint.objects.filter(pk__in=bench.exclude(touchpoint=None).values("touchpoint")).delete()
    purchases = bench.delete()[0]
    deliveries = TillDelivery.objects.filter(event_id__startswith="bench-").delete()[0]
    if not quiet:
        print(json.dumps({"purchases": purchases, "deliveries": deliveries}))


# --- Processes -------------------------------------------------------------------------------------


def start_worker(log_path: Path, concurrency: int) -> subprocess.Popen:
    env = env_for(BIG_DB)
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "crm", "purge", "-f"], cwd=BASE_DIR, env=env, capture_output=True
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=bench-api-{os.getpid()}@%h",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=open(log_path, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    time.sleep(6)  # ready well before the first webhook; a message sent earlier would wait in Redis anyway
    return proc


# --- Measurements -----------------------------------------------------------------------------------


def measure_search(port: int, key: str, surname: str, *, n: int, warmup: int) -> dict[str, list[float]]:
    staff, api = Browser(port), Browser(port)
    staff.log_in("staff")
    targets = {
        "bare": (staff, "/bench/bare/", {}),
        "api search": (api, "/api/v1/customers/?" + urlencode({"q": surname}), {"Authorization": f"Bearer {key}"}),
    }
    timings: dict[str, list[float]] = {name: [] for name in targets}
    for round_no in range(warmup + n):
        for name, (browser, url, headers) in targets.items():
            started = time.perf_counter()
            status, body = browser.request("GET", url, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                sys.exit(f"{name}: HTTP {status} {body[:200]!r}")
            if round_no >= warmup:
                timings[name].append(elapsed)
    return timings


def order_body(n: int, email: str, run: str) -> bytes:
    lines = random.sample(PRODUCTS, k=random.randint(1, 2))
    now = datetime.now(UTC).isoformat()
    order = {
        "id": int(f"9{run}{n:06d}"),
        "email": email,
        "phone": None,
        "created_at": now,
        "processed_at": now,
        "updated_at": now,
        "currency": "GBP",
        "financial_status": "paid",
        "name": f"#{n}",
        "total_price": f"{random.randint(300, 6000) / 100:.2f}",
        "customer": {"id": 7_000_000 + n, "email": email, "first_name": "Bench", "last_name": f"Buyer {n}"},
        "line_items": [{"id": i, "title": title, "quantity": 1, "price": "1.00"} for i, title in enumerate(lines)],
    }
    return json.dumps(order).encode()


def send_webhooks(port: int, emails: list[str], count: int) -> tuple[float, list[str]]:
    """Post `count` signed orders/create from THREADS threads; returns (seconds, errors)."""
    run = f"{random.randint(100, 999)}"
    bodies = []
    for n in range(count):
        email = random.choice(emails) if n % 10 else f"nobody-{run}-{n}@mail.invalid"
        bodies.append(order_body(n, email, run))
    errors: list[str] = []
    chunks = [list(range(i, count, THREADS)) for i in range(THREADS)]

    def post(indexes: list[int]) -> None:
        conn = HTTPConnection("127.0.0.1", port, timeout=60)
        for n in indexes:
            body = bodies[n]
            signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Event-Id": f"bench-{run}-{n}",
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "Host": f"127.0.0.1:{port}",
                "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
            }
            for attempt in range(3):
                try:
                    conn.request("POST", "/integrations/shopify/", body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status != 200:
                        errors.append(f"HTTP {resp.status}")
                    break
                except (ConnectionError, OSError):
                    conn.close()
                    conn = HTTPConnection("127.0.0.1", port, timeout=60)
                    if attempt == 2:
                        errors.append("connection failed")

    started = time.perf_counter()
    threads = [threading.Thread(target=post, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, errors


def delivery_counts(cursor) -> dict:
    """This run's deliveries by status, read with plain SQL over one connection.

    (Not through a Django process per poll: starting one costs about a second of CPU, which the
    measured server would lose on 2 cores.)
    """
    cursor.execute("SELECT status, count(*) FROM tills_tilldelivery WHERE event_id LIKE 'bench-%' GROUP BY status")
    return dict(cursor.fetchall())


def wait_processed(count: int, *, timeout: float) -> dict:
    import psycopg2

    deadline = time.monotonic() + timeout
    conn = psycopg2.connect(BIG_DB)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            while True:
                counts = delivery_counts(cursor)
                if counts.get("pending", 0) == 0 and sum(counts.values()) >= count:
                    return counts
                if time.monotonic() > deadline:
                    return counts
                time.sleep(0.5)
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--webhooks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=WORKER_CONCURRENCY, help="Celery worker processes")
    for mode in ("--setup", "--cleanup"):
        parser.add_argument(mode, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        return _setup_here()
    if args.cleanup:
        return _cleanup_here()

    for db in (SMALL_DB, BIG_DB):
        manage(db, "migrate", "--no-input")
    small, big = run_here(SMALL_DB, "--setup"), run_here(BIG_DB, "--setup")
    print(
        f"{big['customers']:,} customers; search term {big['surname']!r}; API search SQL queries: "
        f"{small['search_queries']} at {small['customers']:,}, {big['search_queries']} at {big['customers']:,}"
    )
    manage(BIG_DB, "collectstatic", "--no-input")
    port = free_port()
    server = start_gunicorn(port, env=env_for(BIG_DB), threads=GUNICORN_THREADS)
    worker_log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-api-worker-{os.getpid()}.log"
    worker = start_worker(worker_log, args.concurrency)
    try:
        timings = measure_search(port, big["key"], big["surname"], n=args.requests, warmup=args.warmup)
        started = time.perf_counter()
        post_seconds, errors = send_webhooks(port, big["emails"], args.webhooks)
        counts = wait_processed(args.webhooks, timeout=max(600, args.webhooks / 10))
        total_seconds = time.perf_counter() - started
    finally:
        server.terminate()
        worker.terminate()
        server.wait(timeout=30)
        worker.wait(timeout=60)

    bare, search = statistics.median(timings["bare"]), statistics.median(timings["api search"])
    ratio = search / bare
    processed = sum(n for status, n in counts.items() if status != "pending")
    rate = processed / total_seconds
    print(
        f"\n{args.requests} requests each after {args.warmup} warm-up rounds, gunicorn DEBUG=False, 2 workers x {GUNICORN_THREADS} threads"
    )
    print(
        f"{'bare page':<14} median {bare:7.2f} ms  p95 {sorted(timings['bare'])[int(0.95 * args.requests) - 1]:7.2f} ms"
    )
    print(
        f"{'API search':<14} median {search:7.2f} ms  p95 "
        f"{sorted(timings['api search'])[int(0.95 * args.requests) - 1]:7.2f} ms  = {ratio:.2f}x bare "
        f"({'ok' if ratio <= SEARCH_BAR else 'MISSED'}, bar {SEARCH_BAR}x)"
    )
    print(
        f"\n{args.webhooks:,} Shopify webhooks, {THREADS} client threads, Celery prefork concurrency {args.concurrency}:"
    )
    print(
        f"  all POSTs answered in {post_seconds:.1f} s ({args.webhooks / post_seconds:.0f}/s), "
        f"{len(errors)} errors{(' e.g. ' + str(errors[:3])) if errors else ''}"
    )
    print(
        f"  all processed in {total_seconds:.1f} s end to end: {rate:.0f} webhooks/s "
        f"({'ok' if rate >= WEBHOOK_BAR and processed >= args.webhooks else 'MISSED'}, bar {WEBHOOK_BAR:.0f}/s); "
        f"deliveries by status: {counts}"
    )
    print(
        json.dumps(
            {
                "bare_median_ms": round(bare, 2),
                "api_search_median_ms": round(search, 2),
                "search_ratio": round(ratio, 2),
                "search_queries_small": small["search_queries"],
                "search_queries_big": big["search_queries"],
                "webhooks": args.webhooks,
                "webhooks_processed": processed,
                "webhook_errors": len(errors),
                "webhooks_end_to_end_per_s": round(rate, 1),
                "posts_per_s": round(args.webhooks / post_seconds, 1),
                "misses": [
                    name
                    for name, missed in (
                        ("search", ratio > SEARCH_BAR),
                        ("webhooks", rate < WEBHOOK_BAR or processed < args.webhooks),
                    )
                    if missed
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
