"""Benchmark: plan one day of birthday, we-miss-you and gift-expiry messages for N customers.

    python bench/plan_reminders.py --customers 1000000

Runs on PostgreSQL (DATABASE_URL, default the `rapport_bench` database, created and migrated
if missing). Seeds N customers (and N/10 gift codes) with INSERT … SELECT generate_series if
they are not there yet, then times each planner once on a cold outbox for that day, prints the
figures and the EXPLAIN of every planning query. The bar: under 10 seconds in total for 1,000,000.
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from bench.common import ensure_database  # noqa: E402

SEED_DOMAIN = "plan.bench"
# The day planned: a fixed Tuesday, so every run plans the same set.
NOW = datetime(2026, 6, 16, 6, 0, tzinfo=UTC)


def seed(n: int) -> None:
    """Customers spread over birthdays, last touchpoints over two years; a tenth with their own cadence."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM customers_customer WHERE email LIKE %s", [f"%@{SEED_DOMAIN}"])
        have = cur.fetchone()[0]
        if have >= n:
            print(f"{have:,} seeded customers already there")
            return
        started = time.perf_counter()
        cur.execute(
            f"""
            INSERT INTO customers_customer (
                first_name, last_name, preferred_name, email, phone, birthday_day, birthday_month, notes,
                how_we_met, cadence_days, email_consent, consent_at, consent_method, is_archived, created_at,
                updated_at, last_touchpoint_at, purchase_count, lifetime_spend, touchpoints_90d, health, stage,
                closeness)
            SELECT 'Bench', 'Customer ' || i, '', 'c' || i || '@{SEED_DOMAIN}', '',
                   1 + (i / 12) %% 28, 1 + i %% 12, '', '',
                   CASE WHEN i %% 10 = 0 THEN 30 + (i / 10) %% 4 * 30 END,
                   i %% 20 <> 0, now(), 'imported', i %% 50 = 0, now(), now(),
                   %s::timestamptz - make_interval(days => i %% 730, mins => i %% 1440),
                   i %% 7, 0, 0, 'cold', 'customer', 0
            FROM generate_series(%s, %s) AS i
            """,
            [NOW, have + 1, n],
        )
        cur.execute(
            """
            INSERT INTO gifts_giftcode (customer_id, code, kind, value, issued_at, expires_on, source)
            SELECT c.id, 'B' || upper(lpad(to_hex(c.id), 7, '0')), 'percent', 10, now(),
                   %s::date + (c.id / 10 %% 365)::int, 'bench'
            FROM customers_customer c
            WHERE c.email LIKE %s AND c.id %% 10 = 0
              AND NOT EXISTS (SELECT 1 FROM gifts_giftcode g WHERE g.customer_id = c.id)
            """,
            [NOW.date(), f"%@{SEED_DOMAIN}"],
        )
        cur.execute("ANALYZE customers_customer")
        cur.execute("ANALYZE gifts_giftcode")
        print(f"seeded {n - have:,} customers (+ gift codes) in {time.perf_counter() - started:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rapport_bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ["CONN_MAX_AGE"] = "0"
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        sys.exit("This benchmark needs PostgreSQL (set DATABASE_URL).")
    call_command("migrate", verbosity=0)
    seed(args.customers)

    from automations.models import OutboundMessage
    from automations.planners import plan_birthdays, plan_gift_expiry_reminders, plan_we_miss_you
    from crm.models import ShopSettings

    shop = ShopSettings.load()
    shop.time_zone = "Europe/London"
    shop.save()
    kinds = {"birthday": plan_birthdays, "wemissyou": plan_we_miss_you, "gift_expiry": plan_gift_expiry_reminders}
    OutboundMessage.objects.filter(kind__in=kinds).delete()  # a cold day: every row is really inserted
    with connection.cursor() as cur:
        cur.execute("ANALYZE automations_outboundmessage")

    total = 0.0
    report = []
    for kind, planner in kinds.items():
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            planner(now=NOW)
            took = time.perf_counter() - started
        total += took
        rows = OutboundMessage.objects.filter(kind=kind).count()
        again = time.perf_counter()
        planner(now=NOW)  # a second run must add nothing
        rerun = time.perf_counter() - again
        assert OutboundMessage.objects.filter(kind=kind).count() == rows, "a second run added rows"
        report.append((kind, took, rows, rerun, [q["sql"] for q in queries.captured_queries]))

    print(f"\nPlanning one day ({NOW:%Y-%m-%d}) for {args.customers:,} customers on PostgreSQL")
    for kind, took, rows, rerun, _ in report:
        print(f"  {kind:<12} {took:6.2f}s  {rows:>7,} rows planned   (second run {rerun:.2f}s, 0 added)")
    print(f"  {'total':<12} {total:6.2f}s  (bar: under 10 s)")

    from django.db import transaction

    for kind, _, _, _, sqls in report:
        for sql_text in sqls:
            head = sql_text.lstrip().upper()
            if not (head.startswith("INSERT") or head.startswith("SELECT")) or (
                "customers_customer" not in sql_text and "gifts_giftcode" not in sql_text
            ):
                continue
            print(f"\n--- EXPLAIN ANALYZE ({kind}) ---\n{sql_text[:700]}{' …' if len(sql_text) > 700 else ''}\n")
            # Replay the planning statement on a cold outbox inside a transaction that is rolled back.
            with transaction.atomic(), connection.cursor() as cur:
                OutboundMessage.objects.filter(kind=kind).delete()
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql_text)
                print("\n".join(row[0] for row in cur.fetchall()))
                transaction.set_rollback(True)


if __name__ == "__main__":
    main()
