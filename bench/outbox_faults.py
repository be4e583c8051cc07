"""Fault campaign for the outbox: thousands of messages through a real worker while everything breaks.

    python bench/outbox_faults.py                              # 2,000 messages, 130 faults (the bar)
    python bench/outbox_faults.py --messages 200 --faults 20   # the small run the integration tests do

Runs on PostgreSQL (DATABASE_URL, default the `rapport_bench_faults` database, created, migrated
and emptied of customers and messages at the start). It starts its own redis-server, its own SMTP
relay (aiosmtpd: down / 451 to every session / 550 and 450 for listed recipients / a reply after
the client's timeout), a TCP proxy in front of PostgreSQL that it cuts, and its own Celery worker
(prefork, 2 children) whose database connection goes through that proxy. A thread plays beat.

It plans the messages with the real planners (a birthday greeting for a quarter of the customers,
a newsletter to all), releases them over the campaign, injects the faults below one after another,
re-runs the planners now and then (they must add nothing), waits until nothing is due or in flight,
then compares what the relay received (by Message-ID) with the outbox.

Fault kinds: worker SIGKILL (whole process group, restarted at once), pool child SIGKILL, Redis
SIGKILL (down 1-3 s, back empty), relay down (2-5 s), relay answering 451 to every MAIL FROM
(2-4 s), database connection cut (1-3 s), one slow reply (stored, answered after the timeout),
addresses answering 550 for good, addresses answering 450 twice. "At least 100 faults" is the
total: every slow reply is an `unknown` by design, so 100 of those alone would break the 1 % bar.

Only waits are shortened (SHORT_WAITS below, passed to the worker as environment); the retry
window keeps its default of 24 hours. The bar: duplicates 0, lost 0, unknown <= 1 % of intended,
failed only for the 550 recipients, the planners adding nothing. Prints a table and a JSON last line.
"""

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

# The worker's waits, shortened so a campaign fits in minutes (defaults in crm/settings.py).
SHORT_WAITS = {
    "EMAIL_TIMEOUT": "2",  # the client's wait for each SMTP answer (default 20 s)
    "OUTBOX_SENDING_TIMEOUT": "15",  # a row left `sending` by a dead worker is settled after (600 s)
    "OUTBOX_BREAKER_BASE_SECONDS": "1",  # the mail breaker's first wait (30 s) …
    "OUTBOX_BREAKER_MAX_SECONDS": "4",  # … and its longest (300 s)
    "OUTBOX_RETRY_BASE_SECONDS": "1",  # a per-recipient 4xx's first backoff (60 s) …
    "OUTBOX_RETRY_MAX_SECONDS": "8",  # … and its longest (3600 s)
    "OUTBOX_RECORD_RETRY_SECONDS": "60",  # unchanged: how long a result is kept while the database is away
}
SWEEP_EVERY = 1.0  # seconds between the sweeps the beat thread queues (beat: 60 s)
SLOW_REPLY_AFTER = 3.0  # the relay's answer to a slow message, after EMAIL_TIMEOUT
DOMAIN = "faults.example"
# Share of the faults per kind (the rest of --faults, rounded, goes to the database cuts).
WEIGHTS = {
    "worker_kill": 0.08,
    "child_kill": 0.10,
    "redis_kill": 0.08,
    "relay_down": 0.12,
    "relay_451": 0.12,
    "slow_reply": 0.07,
    "rcpt_550": 0.15,
    "rcpt_450": 0.12,
}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass
class Campaign:
    messages: int = 2000
    faults: int = 130
    seed: int = 14
    say: Callable[[str], None] = log
    report: dict = field(default_factory=dict)

    # --- set-up ------------------------------------------------------------------------------

    def fault_plan(self) -> list[str]:
        counts = {kind: max(1, round(self.faults * weight)) for kind, weight in WEIGHTS.items()}
        counts["db_cut"] = max(1, self.faults - sum(counts.values()))
        self.fault_counts = counts
        timed = [kind for kind, n in counts.items() if kind not in ("rcpt_550", "rcpt_450") for _ in range(n)]
        random.Random(self.seed).shuffle(timed)
        return timed

    def seed_data(self) -> None:
        """Customers, then the real planners: birthday greetings (with gift codes) and a newsletter."""
        from django.utils import timezone

        from automations.models import OutboundMessage, OutboxControl, Suppression
        from community.models import Newsletter, Segment
        from crm.models import ShopSettings
        from customers.models import Customer
        from tests.integration.outbox_helpers import daytime_zone

        OutboundMessage.objects.all().delete()
        Newsletter.objects.all().delete()
        Customer.objects.filter(email__endswith=f"@{DOMAIN}").delete()
        Suppression.objects.all().delete()
        OutboxControl.objects.all().delete()
        shop = ShopSettings.load()
        shop.time_zone = daytime_zone()  # about noon there: quiet hours never hold the campaign up
        shop.save()
        now = timezone.now()
        birthday = (now.astimezone(shop.tz) + timedelta(days=7)).date()
        other = birthday + timedelta(days=100)
        # One message in five goes to a birthday customer (birthday greeting + newsletter).
        people = round(self.messages / 1.25)
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    first_name="Fault",
                    last_name=f"Customer {i}",
                    email=f"c{i}@{DOMAIN}",
                    email_consent=True,
                    consent_method="imported",
                    birthday_day=(birthday if i % 4 == 0 else other).day,
                    birthday_month=(birthday if i % 4 == 0 else other).month,
                )
                for i in range(people)
            ]
        )
        rng = random.Random(self.seed)
        picked = rng.sample([c.email for c in customers], self.fault_counts["rcpt_550"] + self.fault_counts["rcpt_450"])
        self.refused = set(picked[: self.fault_counts["rcpt_550"]])
        self.greylisted = set(picked[self.fault_counts["rcpt_550"] :])
        segment = Segment.objects.create(name="Everyone (fault campaign)", filters={})
        self.newsletter = Newsletter.objects.create(
            subject="News from {shop_name}",
            body="Hello {preferred_name},\n\nWe have **new coffee** in.",
            segment=segment,
            status=Newsletter.Status.SCHEDULED,
            send_at=now,
        )
        self.plan(now)
        self.intended = OutboundMessage.objects.count()
        self.say(f"planned {self.intended:,} messages for {people:,} customers")

    def plan(self, now) -> int:
        """The planners, as beat runs them; after the first run they must add nothing."""
        from automations.models import OutboundMessage
        from automations.planners import plan_birthdays
        from community.models import Newsletter
        from community.services import newsletter_plan

        before = OutboundMessage.objects.count()
        plan_birthdays(now=now)
        Newsletter.objects.filter(pk=self.newsletter.pk).update(status=Newsletter.Status.SCHEDULED)
        newsletter_plan(newsletter_id=self.newsletter.pk, now=now)
        return OutboundMessage.objects.count() - before

    def release_gradually(self, seconds: float) -> None:
        """Spread the rows' planned times over the campaign, so faults meet a backlog that keeps coming."""
        from django.db import connection
        from django.utils import timezone

        with connection.cursor() as cur:
            cur.execute(
                """
                UPDATE automations_outboundmessage m SET planned_at = %s + make_interval(secs => r.n * %s)
                FROM (SELECT id, row_number() OVER (ORDER BY random()) - 1 AS n FROM automations_outboundmessage) r
                WHERE r.id = m.id
                """,
                [timezone.now(), seconds / max(self.intended, 1)],
            )

    # --- the parts ---------------------------------------------------------------------------

    def start_parts(self) -> None:
        from django.db import connection

        from tests.integration.conftest import CeleryWorker, RedisServer, free_port
        from tests.integration.fault_relay import FaultRelay
        from tests.integration.faults import CuttableProxy, proxied_database_url

        self.redis = RedisServer(port=free_port(), workdir=tempfile.mkdtemp(prefix="rapport-faults-redis-"))
        self.redis.start()
        self.relay = FaultRelay(port=free_port(), slow_delay=SLOW_REPLY_AFTER)
        self.relay.refuse = set(self.refused)
        self.relay.greylist = dict.fromkeys(self.greylisted, 2)
        self.relay.up()
        settings = connection.settings_dict
        self.proxy = CuttableProxy(settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432))
        self.proxy.start()
        self.worker = CeleryWorker(
            redis_url=self.redis.url,
            email_url=self.relay.url,
            extra_env={"DATABASE_URL": proxied_database_url(self.proxy), **SHORT_WAITS},
        )
        self.worker.start()
        self.worker_logs = [self.worker.log_path]
        self.point_celery()

    def point_celery(self) -> None:
        from crm.celery import app
        from tests.integration.conftest import _drop_broker_pools

        app.conf.broker_url = self.redis.url
        _drop_broker_pools(app)

    def stop_parts(self) -> None:
        for stop in (self.worker.stop, self.relay.down, self.proxy.stop, self.redis.stop):
            try:
                stop()
            except Exception as exc:  # noqa: BLE001  (keep stopping the others)
                self.say(f"stopping: {exc!r}")

    # --- beat and faults ---------------------------------------------------------------------

    def beat(self, stop: threading.Event) -> None:
        """Queue a sweep every SWEEP_EVERY seconds, as beat does every minute; re-plan every 20 s."""
        from django.db import connection
        from django.utils import timezone

        from automations.tasks import outbox_sweep_task

        last_plan = time.monotonic()
        self.plan_added = 0
        while not stop.wait(SWEEP_EVERY):
            try:
                outbox_sweep_task.apply_async(retry=False)
            except Exception:  # noqa: BLE001  (Redis is down, a fault: beat's next tick tries again)
                self.point_celery()
            if time.monotonic() - last_plan > 20:
                self.plan_added += self.plan(timezone.now())
                last_plan = time.monotonic()
        connection.close()  # this thread's own connection

    def inject(self, kind: str, rng: random.Random) -> None:
        import psutil

        if kind == "worker_kill":
            self.worker.kill()
            self.worker.start()
            self.worker_logs.append(self.worker.log_path)
        elif kind == "child_kill":
            assert self.worker.process is not None  # start_parts started it, and worker_kill starts it again
            children = psutil.Process(self.worker.process.pid).children()
            if children:
                rng.choice(children).kill()
        elif kind == "redis_kill":
            assert self.redis.process is not None  # start_parts started it, and redis_kill starts it again
            self.redis.process.kill()
            self.redis.process.wait(10)
            time.sleep(rng.uniform(1, 3))
            self.redis.start()
        elif kind == "relay_down":
            self.relay.down()
            time.sleep(rng.uniform(2, 5))
            self.relay.up()
        elif kind == "relay_451":
            with self.relay.lock:
                self.relay.tempfail = True
            time.sleep(rng.uniform(2, 4))
            with self.relay.lock:
                self.relay.tempfail = False
        elif kind == "db_cut":
            self.proxy.cut()
            time.sleep(rng.uniform(1, 3))
            self.proxy.restore()
        elif kind == "slow_reply":
            with self.relay.lock:
                self.relay.slow_next += 1

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> dict:
        started = time.monotonic()
        timed_faults = self.fault_plan()
        self.seed_data()
        # Faults take about 3 s each (worker restarts longer): release the messages over that long.
        period = max(40.0, len(timed_faults) * 3.0)
        self.start_parts()
        self.release_gradually(period)
        stop = threading.Event()
        beat = threading.Thread(target=self.beat, args=(stop,), daemon=True)
        try:
            beat.start()
            rng = random.Random(self.seed)
            fault_started = time.monotonic()
            for i, kind in enumerate(timed_faults, 1):
                # Keep the faults spread over the release period.
                time.sleep(max(0.0, fault_started + period * (i - 1) / len(timed_faults) - time.monotonic()))
                self.inject(kind, rng)
            self.say(f"injected {len(timed_faults)} timed faults in {time.monotonic() - fault_started:.0f}s; settling")
            self.settle(deadline=time.monotonic() + 300)
        finally:
            stop.set()
            beat.join(10)
            self.stop_parts()
        self.report = self.compare(seconds=time.monotonic() - started)
        return self.report

    def settle(self, deadline: float) -> None:
        """Wait until no row is planned (and due within the retry backoff) or sending."""
        from automations.models import OutboundMessage

        while time.monotonic() < deadline:
            open_rows = OutboundMessage.objects.filter(status__in=("planned", "sending")).count()
            if not open_rows:
                return
            time.sleep(1)
        self.say("settling timed out: some rows are still planned or sending")

    def compare(self, seconds: float) -> dict:
        from automations.models import OutboundMessage
        from automations.services import REFUSED

        rows = list(
            OutboundMessage.objects.values_list("message_id", "status", "status_reason", "to_email", "customer__email")
        )
        arrived = self.relay.counts()
        by_id = {r[0]: r for r in rows if r[0]}
        refused = self.refused
        statuses = Counter(r[1] for r in rows)
        unknown = [r for r in rows if r[1] == "unknown"]
        failed = [r for r in rows if r[1] == "failed"]
        failed_by_reason = Counter(r[2] for r in failed)
        # Expected at the server: every row except those to an address that answers 550.
        expected = [r for r in rows if r[4] not in refused]
        lost = [r for r in expected if arrived.get(r[0], 0) == 0 and r[1] != "unknown"]
        report: dict[str, Any] = {
            "intended": self.intended,
            "rows_at_end": len(rows),
            "planned_again_added": self.plan_added,
            "delivered_once": sum(1 for r in rows if arrived.get(r[0], 0) == 1),
            "duplicates": sum(n - 1 for n in arrived.values() if n > 1),
            "lost": len(lost),
            "unknown": len(unknown),
            "unknown_arrived": sum(1 for r in unknown if arrived.get(r[0], 0)),
            "failed": len(failed),
            "failed_by_reason": dict(failed_by_reason),
            "failed_not_a_550_recipient": sum(1 for r in failed if r[4] not in refused or r[2] != REFUSED),
            "suppressed_550_recipients": sum(1 for r in rows if r[1] == "suppressed" and r[4] in refused),
            "statuses": dict(statuses),
            "server_message_ids": len(arrived),
            "server_ids_not_in_outbox": len(set(arrived) - set(by_id)),
            "sent_rows_not_at_server": sum(1 for r in rows if r[1] == "sent" and not arrived.get(r[0])),
            "arrived_rows_not_sent_or_unknown": sum(
                1 for r in rows if arrived.get(r[0]) and r[1] not in ("sent", "unknown")
            ),
            "faults": dict(self.fault_counts),
            "faults_total": sum(self.fault_counts.values()),
            "relay_answers": dict(self.relay.answered),
            "worker_starts": len(self.worker_logs),
            "unrecoverable_errors_in_worker_logs": sum(
                Path(p).read_text(errors="replace").count("Unrecoverable error")
                for p in self.worker_logs
                if Path(p).exists()
            ),
            "short_waits": SHORT_WAITS,
            "seconds": round(seconds, 1),
        }
        report["bar_met"] = (
            report["duplicates"] == 0
            and report["lost"] == 0
            and report["unknown"] <= 0.01 * report["intended"]
            and report["failed_not_a_550_recipient"] == 0
            and report["planned_again_added"] == 0
            and report["server_ids_not_in_outbox"] == 0
            and report["sent_rows_not_at_server"] == 0
            and report["arrived_rows_not_sent_or_unknown"] == 0
            and report["rows_at_end"] == report["intended"]
        )
        return report


def print_table(report: dict) -> None:
    rows = [
        ("intended (rows planned)", report["intended"]),
        ("planned again during faults: rows added", report["planned_again_added"]),
        ("delivered once", report["delivered_once"]),
        ("duplicates at the server", report["duplicates"]),
        ("lost", report["lost"]),
        (
            "unknown (may have arrived)",
            (
                f"{report['unknown']} ({report['unknown'] / max(report['intended'], 1):.2%}), "
                f"{report['unknown_arrived']} of them at the server"
            ),
        ),
        ("failed", report["failed"]),
        *((f"  failed: {reason}", n) for reason, n in report["failed_by_reason"].items()),
        ("failed, not a 550 recipient", report["failed_not_a_550_recipient"]),
        ("suppressed after a 550", report["suppressed_550_recipients"]),
        ("Message-IDs at the server", report["server_message_ids"]),
        ("  not in the outbox", report["server_ids_not_in_outbox"]),
        ("  'sent' rows missing at the server", report["sent_rows_not_at_server"]),
        ("  arrived, but row neither sent nor unknown", report["arrived_rows_not_sent_or_unknown"]),
        ("faults injected", f"{report['faults_total']}: " + ", ".join(f"{k} {v}" for k, v in report["faults"].items())),
        ("relay answers", ", ".join(f"{k} {v}" for k, v in report["relay_answers"].items())),
        ("worker starts", report["worker_starts"]),
        ("'Unrecoverable error' in worker logs", report["unrecoverable_errors_in_worker_logs"]),
        ("seconds", report["seconds"]),
        ("bar met", report["bar_met"]),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--faults", type=int, default=130)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rapport_bench_faults")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ["CONN_MAX_AGE"] = "0"
    os.environ["REDIS_URL"] = "redis://127.0.0.1:1/0"  # replaced by the campaign's own redis-server
    # This process plans and compares; it has no cache (only the worker uses the campaign's Redis), so
    # the friend-card cache's "could not renew" is expected here: not a traceback per plan.
    logging.getLogger("customers.card_cache").setLevel(logging.CRITICAL)
    from bench.common import ensure_database

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("This benchmark needs PostgreSQL (set DATABASE_URL).")
    call_command("migrate", verbosity=0)
    report = Campaign(messages=args.messages, faults=args.faults, seed=args.seed).run()
    print_table(report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
