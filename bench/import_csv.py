"""Benchmark: import a 50,000-row customer CSV on PostgreSQL and print the time (the bar: under 60 s).

    .venv/bin/python bench/import_csv.py --rows 50000

Uses DATABASE_URL (default: the `rapport_bench_import` database, created and migrated if missing),
empties the customer tables, builds a Shopify-style CSV in memory (names, emails, phones,
birthdays, tags, notes, consent), then times the three steps exactly as the worker runs them:
reading the upload, checking every row, and the one-transaction import. It then imports the same
file again (update mode) to show that a re-import creates nothing.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from bench.common import ensure_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/rapport_bench_import"


def build_csv(rows: int) -> bytes:
    rng = random.Random(42)
    first = ["Ada", "Ben", "Chloé", "Dan", "Eve", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kemal", "Léa"]
    last = ["Smith", "Jones", "O'Neil", "García", "Nguyen", "Kowalski", "Okafor", "Brown", "Müller"]
    tags = ["vip", "newsletter", "regular", "wholesale", "local"]
    lines = ["First Name,Last Name,Email,Accepts Email Marketing,Phone,Birthday,Tags,Note"]
    for i in range(rows):
        day, month = rng.randint(1, 28), rng.randint(1, 12)
        lines.append(
            ",".join(
                [
                    rng.choice(first),
                    rng.choice(last).replace("'", "’"),
                    f"customer{i}@bench.example",
                    rng.choice(["yes", "no"]),
                    f"+44 7700 {900000 + i % 100000:06d}"[:18] if i < 100000 else "",
                    f"{day:02d}/{month:02d}/{rng.randint(1940, 2005)}",
                    f'"{rng.choice(tags)}, {rng.choice(tags)}"',
                    f'"Likes {rng.choice(["tea", "coffee", "cake"])}, has a {rng.choice(["cat", "dog", "bike"])}"',
                ]
            )
        )
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("This benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User

    from customers.models import Customer
    from dataio import services
    from dataio.models import ImportJob

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE customers_customer, customers_historicalcustomer, customers_customer_tags, "
            "dataio_importjob RESTART IDENTITY CASCADE"
        )
    owner, _ = User.objects.get_or_create(username="bench-owner")
    raw = build_csv(args.rows)
    print(f"{args.rows:,} rows, {len(raw) / 1e6:.1f} MB, PostgreSQL {connection.pg_version}")  # type: ignore[attr-defined]  # PostgreSQL's wrapper; the proxy is typed as the base

    def run(label: str, on_match: str) -> tuple[ImportJob, float]:
        """One import; the job as it ended and its seconds."""
        started = time.perf_counter()
        created = services.import_job_create(uploaded_by=owner, file_name="bench.csv", raw=raw)
        read = time.perf_counter()
        # What the view does before queueing the check (without the queue: the worker's part is timed here).
        ImportJob.objects.filter(pk=created.pk).update(status=ImportJob.Status.CHECKING)
        services.import_job_check(job_id=created.pk)
        checked = time.perf_counter()
        with transaction.atomic():
            ImportJob.objects.filter(pk=created.pk).update(
                status=ImportJob.Status.IMPORTING, mode="all", on_match=on_match
            )
        services.import_job_run(job_id=created.pk)
        done = time.perf_counter()
        # Read back rather than taken from import_job_run, which returns None when another run got there first.
        job = ImportJob.objects.get(pk=created.pk)
        print(
            f"{label}: read {read - started:5.1f} s · check {checked - read:5.1f} s · "
            f"import {done - checked:5.1f} s · total {done - started:5.1f} s "
            f"(created {job.created_count:,}, updated {job.updated_count:,}, skipped {job.skipped_count:,}, "
            f"errors {job.error_rows:,})"
        )
        return job, done - started

    first, first_seconds = run("first import ", "skip")
    run("same file again", "update")
    total = Customer.objects.count()
    print(f"customers in the database: {total:,} (expected {args.rows:,})")
    bar = "PASS" if first.status == "done" and total == args.rows and first_seconds < 60 else "FAIL"
    print(
        f"bar: {args.rows:,} rows read, checked and imported in under 60 s "
        f"({first_seconds:.1f} s), nothing duplicated on re-import: {bar}"
    )
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
