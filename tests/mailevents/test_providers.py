"""The outbox through each kind of backend: SMTP (the default) against a real aiosmtpd server, and
django-anymail's Postmark and Mailgun backends against a local HTTP server answering in their API's shapes."""

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from automations.links import customer_id_from_reply_address
from automations.models import OutboxControl, Suppression
from automations.sender import message_send
from automations.suppression import email_hash
from tests.automations.conftest import at
from tests.factories import CustomerFactory, OutboundMessageFactory
from tests.integration.conftest import free_port, smtp_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def smtp(settings, smtp_server):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


def test_the_default_smtp_path_is_unchanged_and_adds_a_reply_to_for_the_customer(smtp, time_machine, settings):
    settings.REPLY_TO_EMAIL = "replies@shop.example"
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    message = OutboundMessageFactory()

    assert message_send(message_id=message.pk) == "sent"

    [received] = smtp.messages_to(message.customer.email)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    # Over SMTP the id the provider knows is our own Message-ID.
    assert received["Message-ID"] == message.message_id == message.provider_message_id
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["List-Unsubscribe"].strip().startswith("<http")
    reply_to = received["Reply-To"].strip()
    assert reply_to.startswith("replies+r") and reply_to.endswith("@shop.example")
    assert customer_id_from_reply_address(reply_to) == message.customer_id
    assert "X-Metadata" not in received and "metadata" not in str(received).lower()


def test_a_tampered_reply_address_names_no_customer():
    assert customer_id_from_reply_address("replies+r42.0123456789abcdef@shop.example") is None
    assert customer_id_from_reply_address("replies@shop.example") is None


# --- django-anymail backends against a local API ------------------------------------------------------


@dataclass
class FakeProviderAPI:
    """Answers POSTs with scripted (status, JSON) pairs, in order, and records what it was sent."""

    answers: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@pytest.fixture
def provider_api():
    api = FakeProviderAPI(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server's name for it
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            api.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status, answer = api.answers.pop(0) if api.answers else (200, {})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", api.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture
def postmark(settings, provider_api):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "server-token", "POSTMARK_API_URL": provider_api.url}
    return provider_api


def test_postmark_the_providers_message_id_is_stored_on_the_row(postmark, time_machine):
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    message = OutboundMessageFactory()
    postmark.answers.append(
        (
            200,
            {
                "To": message.customer.email,
                "SubmittedAt": "2027-06-15T11:00:00Z",
                "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
                "ErrorCode": 0,
                "Message": "OK",
            },
        )
    )

    assert message_send(message_id=message.pk) == "sent"

    message.refresh_from_db()
    assert message.provider_message_id == "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
    [request] = postmark.requests
    sent = json.loads(request["body"])
    assert request["headers"]["X-Postmark-Server-Token"] == "server-token"
    assert sent["To"] == message.customer.email
    assert customer_id_from_reply_address(sent["ReplyTo"]) == message.customer_id
    assert sent["Metadata"] == {"rapport_outbox": str(message.pk)}
    assert {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"} in sent["Headers"]


def test_postmark_an_inactive_recipient_fails_the_row_and_suppresses_the_address(postmark, time_machine):
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    message = OutboundMessageFactory()
    email = message.customer.email
    postmark.answers.append(
        (
            422,
            {
                "ErrorCode": 406,
                "Message": f"You tried to send to recipient(s) that have been marked as inactive. Found inactive "
                f"addresses: {email}. Inactive recipients are ones that have generated a hard bounce or a spam "
                f"complaint. ",
            },
        )
    )

    assert message_send(message_id=message.pk) == "failed"

    message.refresh_from_db()
    assert message.status == "failed"
    assert Suppression.objects.filter(email_hash=email_hash(email)).exists()


def test_postmark_an_outage_opens_the_breaker_and_the_message_goes_once_it_is_back(postmark, time_machine, settings):
    settings.OUTBOX_BREAKER_BASE_SECONDS = 30
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    message = OutboundMessageFactory()
    postmark.answers.append((500, {"ErrorCode": 500, "Message": "Internal server error"}))

    # The API answered with an error: nothing was taken, so it is not "unknown"; every worker waits.
    assert message_send(message_id=message.pk) == "mail_down"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("planned", 1)
    assert message.status_reason.startswith("Waiting for the mail server")
    assert OutboxControl.load().mail_down_since == at("2027-06-15 11:00")

    time_machine.move_to(at("2027-06-15 11:00:30"), tick=False)
    postmark.answers.append(
        (
            200,
            {
                "To": message.customer.email,
                "MessageID": "second-try",
                "ErrorCode": 0,
                "Message": "OK",
                "SubmittedAt": "2027-06-15T11:00:30Z",
            },
        )
    )
    assert message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 2, "second-try")
    assert len(postmark.requests) == 2
    assert OutboxControl.load().mail_down_since is None


def test_postmark_a_message_it_calls_malformed_is_retried_on_its_own(postmark, time_machine):
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    message = OutboundMessageFactory()
    postmark.answers.append((422, {"ErrorCode": 300, "Message": "Invalid 'From' address: 'x'."}))

    assert message_send(message_id=message.pk) == "retry"

    message.refresh_from_db()
    assert (message.status, message.next_attempt_at is not None) == ("planned", True)
    assert OutboxControl.load().mail_down_since is None  # the service itself is fine
    assert not Suppression.objects.exists()


def test_a_provider_that_cannot_be_reached_is_an_outage_not_an_unknown(settings, time_machine):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "t", "POSTMARK_API_URL": f"http://127.0.0.1:{free_port()}/"}
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    message = OutboundMessageFactory()

    assert message_send(message_id=message.pk) == "mail_down"
    message.refresh_from_db()
    assert message.status == "planned"


def test_mailgun_the_providers_message_id_is_stored_on_the_row(settings, provider_api, time_machine):
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {
        "MAILGUN_API_KEY": "key-test",
        "MAILGUN_SENDER_DOMAIN": "mg.shop.example",
        "MAILGUN_API_URL": provider_api.url + "v3",
    }
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    message = OutboundMessageFactory(customer=CustomerFactory())
    provider_api.answers.append(
        (200, {"id": "<20270615110000.1.ABC@mg.shop.example>", "message": "Queued. Thank you."})
    )

    assert message_send(message_id=message.pk) == "sent"

    message.refresh_from_db()
    assert message.provider_message_id == "<20270615110000.1.ABC@mg.shop.example>"
    assert provider_api.requests[0]["path"] == "/v3/mg.shop.example/messages"


# --- settings -------------------------------------------------------------------------------------------


def _backend_with(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("EMAIL_URL", "EMAIL_PROVIDER")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import django; django.setup(); from django.conf import settings; "
                "print(settings.EMAIL_BACKEND, sorted(settings.ANYMAIL))"
            ),
        ],
        cwd=BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "crm.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 or env.get("EMAIL_PROVIDER") == "pigeon", result.stderr
    return result.stdout.strip() or result.stderr


def test_settings_files_by_default_smtp_with_a_url_and_a_provider_by_name():
    assert _backend_with().startswith("django.core.mail.backends.filebased.EmailBackend")
    assert _backend_with(EMAIL_URL="smtp://127.0.0.1:2525").startswith("django.core.mail.backends.smtp.EmailBackend")
    assert (
        _backend_with(EMAIL_PROVIDER="postmark", POSTMARK_SERVER_TOKEN="t")
        == "anymail.backends.postmark.EmailBackend ['POSTMARK_SERVER_TOKEN']"
    )
    assert "EMAIL_PROVIDER must be one of" in _backend_with(EMAIL_PROVIDER="pigeon")
