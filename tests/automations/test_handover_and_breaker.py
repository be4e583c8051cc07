"""The sender against a real, misbehaving SMTP relay: the hand-over mark, the mail breaker, the retry window.

Only the client's wait for an answer is shortened (EMAIL_TIMEOUT = 1 s, the relay answers a
slow message after 2.5 s); every outbox setting keeps its default, and time-machine moves the
clock for the breaker's and the backoff's waits.
"""

from datetime import timedelta

import pytest
from django.db.models import Max

from automations.models import OutboundMessage, OutboxControl, Suppression
from automations.sender import (
    _mail_server_may_be_tried,
    mail_breaker_trip,
    message_send,
    outbox_sweep,
)
from automations.services import message_resend
from tests.automations.conftest import at
from tests.factories import CustomerFactory, OutboundMessageFactory, OwnerFactory
from tests.integration.conftest import free_port
from tests.integration.fault_relay import FaultRelay

pytestmark = pytest.mark.django_db

NOON = at("2027-06-15 11:00")  # 12:00 in London: inside sending hours


@pytest.fixture
def relay(settings):
    relay = FaultRelay(port=free_port(), slow_delay=2.5)
    relay.up()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = relay.host, relay.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 1
    yield relay
    relay.down()


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOON, tick=False)
    return time_machine


def test_a_relay_that_answers_after_the_timeout_gets_exactly_one_copy_and_the_row_is_unknown(relay, clock):
    message = OutboundMessageFactory()
    relay.slow_next = 1

    assert message_send(message_id=message.pk) == "unknown"
    # Later sweeps, a task for the same row, and the breaker's probes: nothing sends it again.
    assert message_send(message_id=message.pk) == "taken"
    for minutes in range(1, 30):
        clock.move_to(NOON + timedelta(minutes=minutes), tick=False)
        outbox_sweep()

    message.refresh_from_db()
    assert message.status == "unknown"
    assert message.status_reason == "May have arrived (handed to the server at 12:00:00, no answer)"
    assert message.handed_over_at == NOON and message.attempts == 1
    assert relay.counts() == {message.message_id: 1}


@pytest.mark.django_db(transaction=True)
def test_the_hand_over_mark_is_committed_before_the_message_body_reaches_the_server(relay, clock):
    message = OutboundMessageFactory()
    seen_by_the_server = []
    # The relay's own thread and database connection: it sees only what is committed.
    relay.on_data = lambda message_id: seen_by_the_server.append(
        OutboundMessage.objects.filter(message_id=message_id).values_list("status", "handed_over_at").get()
    )

    assert message_send(message_id=message.pk) == "sent"

    assert seen_by_the_server == [("sending", NOON)]


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_row_was_taken_back_does_not_hand_it_over(relay, clock, monkeypatch):
    message = OutboundMessageFactory()
    # While this worker talks to the server, the row is taken back (stuck-row rule, owner) and planned again.
    original = relay.handle_RCPT

    async def take_back_then_answer(*args):
        OutboundMessage.objects.filter(pk=message.pk).update(status="planned")
        return await original(*args)

    monkeypatch.setattr(relay, "handle_RCPT", take_back_then_answer)

    assert message_send(message_id=message.pk) == "taken"

    assert relay.counts() == {}
    message.refresh_from_db()
    assert (message.status, message.handed_over_at) == ("planned", None)


@pytest.mark.parametrize("fault", ["down", "451 to MAIL FROM"])
def test_a_dead_or_busy_server_stops_the_batch_and_rows_not_tried_keep_their_attempts(relay, clock, fault):
    messages = [OutboundMessageFactory() for _ in range(5)]
    if fault == "down":
        relay.down()
    else:
        relay.tempfail = True

    assert outbox_sweep() == {"unknown": 0, "mail_down": 1}
    assert outbox_sweep() == {"unknown": 0, "mail_down": 1}  # the breaker is open: nobody tries
    assert message_send(message_id=messages[3].pk) == "mail_down"  # nor does a task for one row

    attempts = sorted(OutboundMessage.objects.values_list("attempts", flat=True))
    assert attempts == [0, 0, 0, 0, 1]
    tried = OutboundMessage.objects.get(attempts=1)
    assert (tried.status, tried.handed_over_at, tried.next_attempt_at) == ("planned", None, None)
    assert tried.status_reason.startswith("Waiting for the mail server")
    control = OutboxControl.load()
    assert (control.mail_down_since, control.mail_retry_at) == (NOON, NOON + timedelta(seconds=30))

    # The server is back; once the breaker's wait is over everything goes, once.
    relay.up()
    relay.tempfail = False
    clock.move_to(NOON + timedelta(seconds=30), tick=False)
    assert outbox_sweep()["sent"] == 5
    assert sorted(relay.counts().values()) == [1] * 5
    assert OutboxControl.load().mail_down_since is None


def test_a_per_recipient_450_keeps_its_own_backoff_and_the_batch_goes_on(relay, clock):
    greylisted = OutboundMessageFactory(customer=CustomerFactory(email="grey@mail.example"), priority=1)
    others = [OutboundMessageFactory() for _ in range(3)]
    relay.greylist["grey@mail.example"] = 1

    counts = outbox_sweep()

    assert (counts["retry"], counts["sent"]) == (1, 3)
    greylisted.refresh_from_db()
    assert (greylisted.status, greylisted.next_attempt_at) == ("planned", NOON + timedelta(seconds=60))
    assert greylisted.last_error.startswith("450")
    assert OutboxControl.load().mail_down_since is None  # one recipient's trouble is not an outage
    clock.move_to(NOON + timedelta(seconds=60), tick=False)
    assert outbox_sweep()["sent"] == 1
    assert sorted(relay.counts().values()) == [1] * (1 + len(others))


def test_when_the_breakers_wait_is_over_one_caller_probes_and_the_others_keep_waiting(clock):
    mail_breaker_trip(error="ConnectionRefusedError", now=NOON)
    clock.move_to(NOON + timedelta(seconds=31), tick=False)

    first = _mail_server_may_be_tried(OutboxControl.load(), NOON + timedelta(seconds=31))
    second = _mail_server_may_be_tried(OutboxControl.load(), NOON + timedelta(seconds=31))

    assert (first, second) == (True, False)
    # The probe's own failure (or its worker's death) leaves the next try a full step later.
    assert OutboxControl.load().mail_retry_at == NOON + timedelta(seconds=31 + 60)


def test_a_per_recipient_4xx_gives_up_after_the_retry_window_in_time_not_after_n_attempts(relay, clock):
    message = OutboundMessageFactory(customer=CustomerFactory(email="grey@mail.example"))
    relay.greylist["grey@mail.example"] = 10_000

    for minutes in range(0, 26 * 60, 10):
        clock.move_to(NOON + timedelta(minutes=minutes), tick=False)
        outbox_sweep()

    message.refresh_from_db()
    assert message.status == "failed"
    assert message.status_reason == "Gave up: the mail server did not take it within 24 hours"
    assert message.first_attempt_at == NOON
    assert message.attempts > 10  # far more than the old limit of 5 sweeps

    # The owner resends it: a fresh 24-hour window, so one more 450 does not fail it.
    message_resend(message=message, resent_by=OwnerFactory())
    clock.move_to(NOON + timedelta(days=1, hours=3), tick=False)
    outbox_sweep()
    message.refresh_from_db()
    assert (message.status, message.first_attempt_at) == ("planned", NOON + timedelta(days=1, hours=3))


@pytest.mark.timeout(900)  # 2,000 real SMTP sends: one to three minutes on a busy machine
def test_a_relay_refusing_connections_for_ten_minutes_during_a_2000_message_backlog_loses_and_fails_none(relay, clock):
    customers = CustomerFactory.create_batch(2000)
    OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                customer=c,
                recipient_key=f"c:{c.pk}",
                kind="wemissyou",
                occasion_key="test:outage",
                planned_at=NOON,
                priority=60,
            )
            for c in customers
        ]
    )
    relay.down()

    # Beat's sweep every minute, default settings: ten minutes of a closed port, then it is back.
    minute = 0
    for minute in range(10):
        clock.move_to(NOON + timedelta(minutes=minute), tick=False)
        outbox_sweep()
    tries_during_the_outage = OutboundMessage.objects.aggregate(Max("attempts"))["attempts__max"]
    relay.up()
    while OutboundMessage.objects.filter(status="planned").exists() and minute < 60:
        minute += 1
        clock.move_to(NOON + timedelta(minutes=minute), tick=False)
        outbox_sweep()

    statuses = set(OutboundMessage.objects.values_list("status", flat=True))
    assert statuses == {"sent"}
    arrived = relay.counts()
    assert len(arrived) == 2000 and set(arrived.values()) == {1}
    assert set(arrived) == set(OutboundMessage.objects.values_list("message_id", flat=True))
    # The outage cost one probe message a few attempts; the rest were tried once, when it was back.
    assert tries_during_the_outage <= 5
    assert OutboundMessage.objects.filter(attempts=1).count() == 1999


def test_a_550_to_the_shops_own_sender_address_suppresses_no_customer_and_waits_for_the_server(
    relay, clock, monkeypatch
):
    message = OutboundMessageFactory()

    async def refuse_the_sender(server, session, envelope, address, mail_options):
        return "550 5.7.1 Sender address rejected"

    monkeypatch.setattr(relay, "handle_MAIL", refuse_the_sender)

    assert message_send(message_id=message.pk) == "mail_down"

    message.refresh_from_db()
    assert (message.status, message.last_error[:3]) == ("planned", "550")
    assert not Suppression.objects.exists()  # the customer's address did nothing wrong
    assert OutboxControl.load().mail_down_since == NOON


def test_a_421_at_rcpt_closes_the_session_for_everyone_not_just_this_recipient(relay, clock, monkeypatch):
    first, second = OutboundMessageFactory(priority=1), OutboundMessageFactory(priority=2)

    async def shutting_down(server, session, envelope, address, rcpt_options):
        return "421 4.3.2 Service shutting down"

    monkeypatch.setattr(relay, "handle_RCPT", shutting_down)

    assert outbox_sweep() == {"unknown": 0, "mail_down": 1}

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.attempts, second.attempts) == (1, 0)
    assert first.next_attempt_at is None  # the breaker, not a per-recipient backoff, decides
