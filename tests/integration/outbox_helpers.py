"""Shared pieces for the outbox fault tests: a daytime shop zone, a slow SMTP server, counting."""

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import RecordingSMTP, free_port


def daytime_zone() -> str:
    """A fixed-offset zone where it is about noon now, so quiet hours never hold these tests up."""
    offset = 12 - datetime.now(UTC).hour  # -11 … +12
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


def shop_in_daytime() -> None:
    from crm.models import ShopSettings

    shop = ShopSettings.load()
    shop.time_zone = daytime_zone()
    shop.save()


class SlowSMTP(RecordingSMTP):
    """Takes `delay` seconds over each message, so a test can act while a send is in flight."""

    delay: float = 0.0
    started: int = 0  # DATA commands begun; more than received means one is in flight now

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.started += 1
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)

    def in_flight(self) -> bool:
        with self.lock:
            return self.started > len(self.received)


@pytest.fixture
def slow_smtp():
    from aiosmtpd.controller import Controller

    handler = SlowSMTP(port=free_port())
    controller = Controller(handler, hostname=handler.host, port=handler.port)
    controller.start()
    yield handler
    controller.stop()


def received_ids(smtp) -> Counter:
    """How many times each Message-ID arrived."""
    with smtp.lock:
        return Counter(r["message"]["Message-ID"] for r in smtp.received)


def outbox_counts() -> Counter:
    from automations.models import OutboundMessage

    return Counter(OutboundMessage.objects.values_list("status", flat=True))


def assert_at_most_once_and_none_lost(smtp, total: int) -> None:
    """Every row has a final visible status, no Message-ID arrived twice, and counts add up."""
    from automations.models import OutboundMessage

    rows = list(OutboundMessage.objects.all())
    arrived = received_ids(smtp)
    assert len(rows) == total
    assert {r.status for r in rows} <= {"sent", "unknown"}, outbox_counts()
    assert max(arrived.values(), default=1) == 1, arrived  # at most once
    sent = {r.message_id for r in rows if r.status == "sent"}
    unknown = {r.message_id for r in rows if r.status == "unknown"}
    assert sent <= set(arrived)  # every "sent" row really arrived
    assert set(arrived) <= sent | unknown  # nothing arrived that the outbox does not know about
    assert len(arrived) - len(sent) <= len(unknown)
