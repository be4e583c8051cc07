"""Benchmark: plan a newsletter to a 10,000-customer segment in one set-based step.

    python bench/plan_newsletter.py [--customers 10000] [--runs 3]

Runs on PostgreSQL (DATABASE_URL, default the `rapport_bench_newsletter` database, created and
migrated if missing). Seeds N customers tagged "bench-newsletter" (1 in 20 without consent) with
INSERT … SELECT generate_series if they are not there yet, saves a segment "tag = bench-newsletter",
then for each run makes a fresh scheduled newsletter and times community.services.newsletter_plan
(one SELECT of the members, one bulk INSERT … ON CONFLICT DO NOTHING in batches, two counts), and
a second plan of the same newsletter (every row a conflict: nothing added). Prints the figures and
the SQL statements the first plan ran. No bar is asserted: the numbers are for a person to read.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from bench.common import ensure_database  # noqa: E402

SEED_DOMAIN = "newsletter.bench"
TAG = "bench-newsletter"


def seed(n: int) -> int:
    """N tagged customers; returns the tag's id."""
    from django.db import connection

    from customers.models import Tag

    tag, _ = Tag.objects.get_or_create(name=TAG)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM customers_customer WHERE email LIKE %s", [f"%@{SEED_DOMAIN}"])
        have = cur.fetchone()[0]
        if have >= n:
            print(f"{have:,} seeded customers already there")
            return tag.pk
        started = time.perf_counter()
        cur.execute(
            f"""
            INSERT INTO customers_customer (
                first_name, last_name, preferred_name, email, phone, notes, how_we_met, email_consent,
                consent_at, consent_method, is_archived, created_at, updated_at, purchase_count,
                lifetime_spend, touchpoints_90d, health, stage, closeness)
            SELECT 'Bench', 'Reader ' || i, '', 'r' || i || '@{SEED_DOMAIN}', '', '', '', i %% 20 <> 0,
                   now(), 'imported', false, now(), now(), i %% 7, 0, 0, 'warm', 'customer', 0
            FROM generate_series(%s, %s) AS i
            """,
            [have + 1, n],
        )
        cur.execute(
            """
            INSERT INTO customers_customer_tags (customer_id, tag_id)
            SELECT c.id, %s FROM customers_customer c
            WHERE c.email LIKE %s
              AND NOT EXISTS (SELECT 1 FROM customers_customer_tags t WHERE t.customer_id = c.id AND t.tag_id = %s)
            """,
            [tag.pk, f"%@{SEED_DOMAIN}", tag.pk],
        )
        cur.execute("ANALYZE customers_customer; ANALYZE customers_customer_tags; ANALYZE automations_outboundmessage")
        print(f"seeded {n - have:,} customers in {time.perf_counter() - started:.1f} s")
    return tag.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rapport_bench_newsletter")
    if not url.startswith("postgres"):
        sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from automations.models import OutboundMessage
    from community.models import Newsletter, Segment
    from community.selectors import segment_customers
    from community.services import newsletter_plan

    call_command("migrate", verbosity=0)
    tag_id = seed(args.customers)
    segment, _ = Segment.objects.update_or_create(name="Bench readers", defaults={"filters": {"tags": [tag_id]}})
    members = segment_customers(segment).count()
    reachable = segment_customers(segment).filter(email_consent=True).exclude(email="").count()
    print(f"segment: {members:,} customers, {reachable:,} with consent and an address")

    first, second = [], []
    captured = None
    for run in range(args.runs):
        newsletter = Newsletter.objects.create(
            subject=f"Bench {run}",
            body="Hello {preferred_name}",
            segment=segment,
            status=Newsletter.Status.SCHEDULED,
            send_at=timezone.now(),
        )
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            added = newsletter_plan(newsletter_id=newsletter.pk)
            first.append(time.perf_counter() - started)
        captured = captured or queries
        assert added == reachable, (added, reachable)
        Newsletter.objects.filter(pk=newsletter.pk).update(status=Newsletter.Status.SCHEDULED)
        started = time.perf_counter()
        again = newsletter_plan(newsletter_id=newsletter.pk)
        second.append(time.perf_counter() - started)
        assert again == 0
        print(
            f"run {run + 1}: planned {added:,} rows in {first[-1]:.3f} s; planning it again added {again} "
            f"in {second[-1]:.3f} s"
        )
        # Leave the database as we found it, so every run starts from the same outbox size.
        OutboundMessage.objects.filter(kind="newsletter", occasion_key=newsletter.occasion_key).delete()
        newsletter.delete()

    print(
        f"\nplan a newsletter to {reachable:,} customers: median {statistics.median(first):.3f} s "
        f"(min {min(first):.3f}, max {max(first):.3f}) over {args.runs} runs; "
        f"re-plan (all conflicts) median {statistics.median(second):.3f} s"
    )
    assert captured is not None  # every run captures one, and statistics.median above needs --runs >= 1
    print(f"SQL statements in one plan: {len(captured.captured_queries)}")
    for q in captured.captured_queries:
        sql = q["sql"]
        print(f"  {q['time']:>7}s  {sql[:140]}{' …' if len(sql) > 140 else ''}")


if __name__ == "__main__":
    main()
