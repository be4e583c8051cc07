#!/usr/bin/env python
"""Page speed at 100,000 customers and 2,000,000 touchpoints, against a bare logged-in page.

    python bench/pages.py            # or: make bench

Against PostgreSQL (rapport_bench_pages, seeded once with seed_demo and reused; a 1,000-customer
twin rapport_bench_pages_small is seeded too, to compare query counts), it starts gunicorn with
DEBUG=False, 2 workers and RAPPORT_BENCH_URLS=1 (bench/urls.py: the project's URLs plus the bare
page) on a free 127.0.0.1 port, logs in as the demo staff member (and the owner for the dashboard),
warms up, then times 50 requests per page, interleaved, and prints:

- a table: median, p95, ratio of medians to the bare page, SQL queries per page at 1,000 and at
  100,000 customers, and whether the bar is met (staff pages <= 4x bare, dashboard <= 10x);
- EXPLAIN (ANALYZE) of the search, timeline and upcoming-birthday queries (index scans wanted);
- one final JSON line with the ratios.

Query counts are taken in-process (Django's test client and CaptureQueriesContext) on the same
databases, so the timed gunicorn workers carry no instrumentation.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432/"
BIG_DB, SMALL_DB = PG + "rapport_bench_pages", PG + "rapport_bench_pages_small"
SIZES = {BIG_DB: (100_000, 2_000_000), SMALL_DB: (1_000, 20_000)}
PASSWORD = "rapport-demo"  # seed_demo's demo logins
STAFF_BAR, OWNER_BAR = 4.0, 10.0
REDIS_URL = os.environ.get("REDIS_URL", "")
# (name, who, bar): the order of the table.
PAGES = [
    ("bare", "staff", None),
    ("search", "staff", STAFF_BAR),
    ("search (about 5 match)", "staff", STAFF_BAR),
    ("friend card", "staff", STAFF_BAR),
    ("card, first visit", "staff", STAFF_BAR),
    ("log touchpoint (POST)", "staff", STAFF_BAR),
    ("card just changed", "staff", STAFF_BAR),
    ("my day", "staff", STAFF_BAR),
    ("customer list", "staff", STAFF_BAR),
    ("list by health", "staff", STAFF_BAR),
    ("rings", "staff", STAFF_BAR),
    ("dashboard", "owner", OWNER_BAR),
]


def bench_env(database_url: str) -> dict:
    env = os.environ.copy()
    env.update(
        DATABASE_URL=database_url,
        DEBUG="False",
        SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SECURE_SSL_REDIRECT="False",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="crm.settings",
        RAPPORT_BENCH_URLS="1",  # bench/urls.py: the project's URLs plus the bare page
    )
    # With REDIS_URL (as in production) the cache and the broker are Redis; without it the friend card's
    # fragments go to the database cache and queued tasks to the filesystem broker under var/.
    if not REDIS_URL:
        env.pop("REDIS_URL", None)
    return env


def manage(database_url: str, *args: str, quiet: bool = True) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=bench_env(database_url),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    if not quiet:
        print(result.stdout.strip())
    return result.stdout


def prepare(database_url: str) -> None:
    """Create, migrate and (once) seed a benchmark database; fill the dashboard's rollups once."""
    name = database_url.rsplit("/", 1)[1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True)
    manage(database_url, "migrate", "--no-input")
    manage(database_url, "createcachetable")
    customers, touchpoints = SIZES[database_url]
    # seed_demo --if-empty does nothing when the database has customers already: seeded once, reused.
    print(f"[{name}] seed_demo --customers {customers} --touchpoints {touchpoints} (skipped if seeded) ...", flush=True)
    manage(
        database_url,
        "seed_demo",
        "--if-empty",
        "--force",
        "--seed",
        "7",
        "--customers",
        str(customers),
        "--touchpoints",
        str(touchpoints),
        quiet=False,
    )
    manage(database_url, "dashboard_refresh", "--if-empty", "--backfill-days", "120", quiet=False)
    manage(database_url, "dashboard_refresh", quiet=False)  # today's snapshot, as the nightly task leaves it
    # Fresh statistics and no dead rows, as autovacuum would leave them (it may be off on a test box).
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", name, "-c", "VACUUM (ANALYZE)"], check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """A keep-alive HTTP client that keeps cookies itself: with DEBUG=False they are Secure-only,
    which a real browser would not send over plain http, so the bench sends them by hand."""

    def __init__(self, port: int):
        self.port = port
        self.conn = HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None):
        body = urlencode(data, doseq=True) if data is not None else None
        hdrs = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            hdrs["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                content = resp.read()
                break
            except (ConnectionError, OSError):
                self.conn.close()
                self.conn = HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt:
                    raise
        for cookie in resp.msg.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, content

    def log_in(self, username: str) -> None:
        status, html = self.request("GET", "/login/")
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if found is None:
            raise RuntimeError(f"The login page ({status}) has no CSRF token")
        token = found.group(1).decode()
        status, _ = self.request(
            "POST", "/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
        )
        if status != 302 or "sessionid" not in self.cookies:
            sys.exit(f"Could not log in as {username} (HTTP {status}): is the database seeded?")


def start_gunicorn(port: int, env: dict | None = None, threads: int = 1) -> subprocess.Popen:
    """gunicorn as a shop runs it (DEBUG=False, 2 workers) on 127.0.0.1:port; `env` defaults to the page bench's.

    `threads` > 1 runs each worker with that many threads, as the Procfile does (`--threads 4`).
    """
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "crm.wsgi:application",
            "--workers",
            "2",
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ],
        cwd=BASE_DIR,
        env=env or bench_env(BIG_DB),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("gunicorn did not start")


def inspect(database_url: str) -> dict:
    """Run this script's --inspect mode on a database: targets, query counts and EXPLAINs."""
    result = subprocess.run(
        [sys.executable, __file__, "--inspect"],
        cwd=BASE_DIR,
        env=bench_env(database_url),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"--inspect failed on {database_url}:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _inspect_here() -> None:
    """(In a child process with DATABASE_URL set.) Print JSON: what to request, queries per page, EXPLAINs."""
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.cache import cache

    cache.clear()  # the other database's cards share ids with this one's
    # The card skips its reads of what a customer has none of (gift codes, follow-ups...: its "card rows").
    # Counted as for a customer who has some of each, so the counts compare across customers and sizes.
    from customers import registry

    registry._card_rows.clear()
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from customers.birthdays import yearly_dates_between_q
    from customers.models import Customer
    from customers.selectors import ListFilters, customer_list, customer_search_rows
    from customers.views import LIST_PAGE_SIZE
    from dashboard.selectors import birthdays_in_month
    from touchpoints.models import Touchpoint

    surnames = [
        r["last_name"] for r in Customer.objects.values("last_name").annotate(n=Count("pk")).order_by("-n")[:20]
    ]
    surname = surnames[0]
    top = Touchpoint.objects.values("customer_id").annotate(n=Count("pk")).order_by("-n")[0]
    post_ids = list(Customer.objects.filter(is_archived=False).order_by("?").values_list("pk", flat=True)[:400])
    few_name = _name_matching_about_five()
    targets = {
        "bare": "/bench/bare/",
        "search": "/customers/search/?" + urlencode({"q": surname}),
        "search (about 5 match)": "/customers/search/?" + urlencode({"q": few_name}),
        "friend card": f"/customers/{top['customer_id']}/",
        # A card nobody opened yet (nothing of it cached), then a touchpoint logged for that customer,
        # then their card again: the timeline is drawn afresh, the rest comes from the cache.
        "card, first visit": "/customers/{next_id}/",
        "log touchpoint (POST)": "/touchpoints/customer/{id}/log/",
        "card just changed": "/customers/{last_id}/",
        "my day": "/",
        "customer list": "/customers/",
        "list by health": "/customers/?health=cooling",
        "rings": "/dashboard/rings/",
        "dashboard": "/dashboard/",
    }
    clients = {}
    for who in ("staff", "owner"):
        clients[who] = Client()
        clients[who].force_login(User.objects.get(username=who))
    queries = {}
    for name, who, _ in PAGES:
        url = targets[name]
        with CaptureQueriesContext(connection) as ctx:
            if "{id}" in url:
                response = clients[who].post(
                    url.format(id=post_ids[0]), {"kind": "visit", "note": "bench"}, HTTP_HX_REQUEST="true"
                )
            elif "{last_id}" in url or "{next_id}" in url:
                response = clients[who].get(url.format(last_id=post_ids[0], next_id=post_ids[0]))
            else:
                response = clients[who].get(url)
        assert response.status_code in (200, 302), (name, response.status_code)
        queries[name] = len(ctx.captured_queries)

    explain = {}
    if connection.vendor == "postgresql":
        staff = User.objects.get(username="staff")
        today = timezone.localdate()
        # What the search page runs for its first page: 25 rows and one more to know about the next.
        search_qs = customer_search_rows(q=surname, region="GB", start=0, stop=26)
        timeline_qs = (
            Touchpoint.objects.filter(customer_id=top["customer_id"])
            .select_related("logged_by")
            .order_by("-happened_at", "-pk")[:21]
        )
        my_day_birthdays = Customer.objects.filter(
            yearly_dates_between_q(start=today, days=7), owner=staff, is_archived=False
        )
        dashboard_birthdays = birthdays_in_month(month=today.month, first_day=today.day, last_day=today.day + 5)[:12]
        for label, qs in (
            ("search", search_qs),
            ("timeline", timeline_qs),
            ("upcoming birthdays (My day)", my_day_birthdays),
            ("upcoming birthdays (dashboard)", dashboard_birthdays),
        ):
            explain[label] = qs.explain(analyze=True)
        # The lists' first pages and counts as Paginator runs them: index-only scans for the counts.
        for label, filters in (("customer list", ListFilters()), ("list by health", ListFilters(health="cooling"))):
            rows = customer_list(filters=filters)
            explain[f"{label}: rows"] = rows[:LIST_PAGE_SIZE].explain(analyze=True)
            explain[f"{label}: count"] = _explain_count(rows)
    print(
        json.dumps(
            {
                "targets": targets,
                "post_ids": post_ids,
                "queries": queries,
                "explain": explain,
                "surname": surname,
                "few_name": few_name,
                "surnames": surnames,
                "top_customer": top,
            },
            default=str,
        )
    )


def _explain_count(queryset) -> str:
    """EXPLAIN (ANALYZE) of the COUNT(*) that Paginator runs for `queryset`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        queryset.count()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN ANALYZE " + ctx.captured_queries[-1]["sql"])
        return "\n".join(row[0] for row in cursor.fetchall())


def _name_matching_about_five() -> str:
    """A "first last" name the search finds about five active customers for (the seed's commonest near 5)."""
    from django.db.models import Count

    from customers.models import Customer
    from customers.selectors import customer_search

    pairs = (
        Customer.objects.filter(is_archived=False)
        .values("first_name", "last_name")
        .annotate(n=Count("pk"))
        .filter(n__gte=2, n__lte=5)
        .order_by("-n", "last_name", "first_name")[:40]
    )
    best, best_gap = "", None
    for pair in pairs:
        name = f"{pair['first_name']} {pair['last_name']}"
        gap = abs(customer_search(q=name).count() - 5)
        if best_gap is None or gap < best_gap:
            best, best_gap = name, gap
        if gap == 0:
            break
    return best


def measure(port: int, targets: dict, post_ids: list[int], *, n: int, warmup: int) -> dict[str, list[float]]:
    browsers = {"staff": Browser(port), "owner": Browser(port)}
    for who, browser in browsers.items():
        browser.log_in(who)
    timings: dict[str, list[float]] = {name: [] for name, _, _ in PAGES}
    errors: list[str] = []
    post_index = 0
    for round_no in range(warmup + n):
        for name, who, _ in PAGES:
            url = targets[name]
            started = time.perf_counter()
            if "{id}" in url:
                post_index += 1
                status, _ = browsers[who].request(
                    "POST",
                    url.format(id=post_ids[post_index % len(post_ids)]),
                    {"kind": "visit", "note": "benchmark visit"},
                    headers={"HX-Request": "true"},
                )
            elif "{last_id}" in url or "{next_id}" in url:
                status, _ = browsers[who].request(
                    "GET",
                    url.format(
                        last_id=post_ids[post_index % len(post_ids)], next_id=post_ids[(post_index + 1) % len(post_ids)]
                    ),
                )
            else:
                status, _ = browsers[who].request("GET", url)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                errors.append(f"{name}: HTTP {status}")
            if round_no >= warmup:
                timings[name].append(elapsed)
    if errors:
        print(f"!! {len(errors)} requests failed, e.g. {errors[:3]}")
    return timings


def run_locust(port: int, big: dict, *, seconds: int) -> str:
    """20 staff users for `seconds` against the same gunicorn; returns locust's summary line."""
    targets_file = BASE_DIR / "var" / "bench_targets.json"
    targets_file.write_text(json.dumps({"surnames": big["surnames"], "customer_ids": big["post_ids"]}))
    env = {**os.environ, "RAPPORT_BENCH_TARGETS": str(targets_file)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(BASE_DIR / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            "20",
            "-r",
            "10",
            "-t",
            f"{seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "LOCUST SUMMARY" in line]
    return lines[-1] if lines else f"locust exited {result.returncode}:\n{result.stderr[-2000:]}"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--no-locust", action="store_true", help="Skip the 60-second locust run.")
    parser.add_argument("--locust-seconds", type=int, default=60)
    parser.add_argument("--inspect", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inspect:
        _inspect_here()
        return

    for db in (SMALL_DB, BIG_DB):
        prepare(db)
    manage(BIG_DB, "collectstatic", "--no-input")
    small, big = inspect(SMALL_DB), inspect(BIG_DB)
    print(
        f"\nCommon surname: {big['surname']!r}; about five match {big['few_name']!r}; "
        f"busiest customer: #{big['top_customer']['customer_id']} "
        f"with {big['top_customer']['n']} touchpoints."
    )

    manage(BIG_DB, "shell", "-c", "from django.core.cache import cache; cache.clear()")
    print(f"Cache: {'Redis (REDIS_URL)' if REDIS_URL else 'the database cache (no REDIS_URL)'}.")
    port = free_port()
    server = start_gunicorn(port)
    try:
        timings = measure(port, big["targets"], big["post_ids"], n=args.requests, warmup=args.warmup)
        locust_summary = None if args.no_locust else run_locust(port, big, seconds=args.locust_seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)

    bare = statistics.median(timings["bare"])
    ratios, failures = {}, []
    print(f"\n{args.requests} requests per page after {args.warmup} warm-up rounds, gunicorn DEBUG=False, 2 workers\n")
    print(f"{'page':<24}{'median ms':>10}{'p95 ms':>9}{'x bare':>8}{'SQL@1k':>8}{'SQL@100k':>9}  bar")
    for name, _, bar in PAGES:
        median = statistics.median(timings[name])
        ratio = median / bare
        ratios[name] = round(ratio, 2)
        q_small, q_big = small["queries"][name], big["queries"][name]
        verdict = "" if bar is None else (f"<= {bar:g}x ok" if ratio <= bar else f"<= {bar:g}x MISSED")
        if q_small != q_big:
            verdict += f"  queries grow ({q_small} -> {q_big})"
        if (bar is not None and ratio > bar) or q_small != q_big:
            failures.append(name)
        print(f"{name:<24}{median:>10.1f}{p95(timings[name]):>9.1f}{ratio:>8.2f}{q_small:>8}{q_big:>9}  {verdict}")

    print("\nEXPLAIN (ANALYZE) at 100,000 customers:")
    big_tables = ("customers_customer", "touchpoints_touchpoint", "customers_followup")
    for label, plan in big["explain"].items():
        # A seq scan of a three-row table (auth_user) is the planner being sensible; of a big one it is not.
        seq = [line.strip() for line in plan.splitlines() if "Seq Scan" in line and any(t in line for t in big_tables)]
        print(f"\n--- {label}: {'SEQ SCAN: ' + '; '.join(seq) if seq else 'no sequential scan of a large table'}")
        print(plan)
    if locust_summary:
        print(f"\nLocust, mixed staff workload, 20 users, {args.locust_seconds} s:\n{locust_summary}")
    print()
    print(json.dumps({"bare_median_ms": round(bare, 2), "ratios": ratios, "misses": failures}))


if __name__ == "__main__":
    main()
