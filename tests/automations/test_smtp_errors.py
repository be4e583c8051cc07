"""SMTP answers handled by the sender, against a real aiosmtpd server (no PostgreSQL needed)."""

from datetime import timedelta

import pytest

from automations.models import Suppression
from automations.sender import message_send, outbox_sweep
from automations.suppression import email_hash
from tests.automations.conftest import at
from tests.factories import OutboundMessageFactory
from tests.integration.conftest import smtp_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings, smtp_server):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.OUTBOX_RETRY_BASE_SECONDS = 60
    return smtp_server


def test_a_451_is_retried_with_backoff_and_then_sent_once(smtp, time_machine):
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    smtp.replies.append("451 Try again later")
    message = OutboundMessageFactory()

    assert message_send(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("planned", 1)
    assert message.last_error.startswith("451")
    assert message.next_attempt_at == at("2027-06-15 11:01")
    assert message_send(message_id=message.pk) == "not_due"  # backoff respected

    time_machine.move_to(at("2027-06-15 11:01"), tick=False)
    assert message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(smtp.messages_to(message.customer.email)) == 1


def test_a_550_fails_the_message_and_suppresses_the_address(smtp, time_machine):
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    smtp.replies.append("550 No such user here")
    message = OutboundMessageFactory()
    later = OutboundMessageFactory(customer=message.customer, kind="birthday")

    assert message_send(message_id=message.pk) == "failed"
    assert message_send(message_id=later.pk) == "suppressed"

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)
    assert message.last_error.startswith("550")
    assert Suppression.objects.filter(email_hash=email_hash(message.customer.email)).exists()
    assert smtp.received == []


def test_a_server_that_refuses_connections_never_fails_a_message_within_the_retry_window(settings, time_machine):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    from tests.integration.conftest import free_port

    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens here
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    start = at("2027-06-15 08:00")
    time_machine.move_to(start, tick=False)
    message = OutboundMessageFactory()

    # Every minute through the sending day (09:00 to 19:00 in London), as beat would.
    for minute in range(10 * 60):
        time_machine.move_to(start + timedelta(minutes=minute), tick=False)
        outbox_sweep()
    message.refresh_from_db()
    assert message.status == "planned"
    assert "Waiting for the mail server" in message.status_reason
    # The breaker backs off (30 s, 1, 2, 4 then 5 minutes): about 120 tries in ten hours, not 600.
    assert 100 < message.attempts < 150

    # A day after the first attempt it gives up, and says why.
    time_machine.move_to(start + timedelta(hours=24, minutes=10), tick=False)
    outbox_sweep()
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.status_reason == "Gave up: the mail server did not take it within 24 hours"
    assert not Suppression.objects.exists()
