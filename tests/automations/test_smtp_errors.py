"""SMTP answers handled by the sender, against a real aiosmtpd server (no PostgreSQL needed)."""

import pytest

from automations.models import Suppression
from automations.sender import message_send
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


def test_a_connection_error_gives_up_after_the_attempt_limit(settings, time_machine):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    from tests.integration.conftest import free_port

    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens here
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    message = OutboundMessageFactory()

    outcomes = []
    for _ in range(10):
        message.refresh_from_db()
        if message.status != "planned":
            break
        time_machine.move_to(message.next_attempt_at or at("2027-06-15 11:00"), tick=False)
        outcomes.append(message_send(message_id=message.pk))

    message.refresh_from_db()
    assert outcomes == ["retry"] * 4 + ["failed"]
    assert (message.status, message.attempts) == ("failed", 5)
    assert "Gave up after 5 attempts" == message.status_reason
    assert not Suppression.objects.exists()
