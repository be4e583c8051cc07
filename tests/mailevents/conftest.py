import base64
import json
from pathlib import Path

import pytest
from django.urls import reverse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
WEBHOOK_SECRET = "rapport:hook-secret"
MAILGUN_SIGNING_KEY = "key-rapport-test-signing"


def basic_auth(secret: str = WEBHOOK_SECRET) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


def fixture_body(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / f"{name}.json").read_bytes()


def post_webhook(client, provider: str, body: bytes, *, auth: str | None = None, direction: str = "tracking"):
    """POST a body as the provider would: JSON, basic auth, and SNS's headers for Amazon SES."""
    headers = {"HTTP_AUTHORIZATION": auth if auth is not None else basic_auth()}
    if provider == "amazon_ses":
        try:
            envelope = json.loads(body)
            headers.update(
                HTTP_X_AMZ_SNS_MESSAGE_TYPE=envelope["Type"],
                HTTP_X_AMZ_SNS_MESSAGE_ID=str(envelope["MessageId"]),
                HTTP_X_AMZ_SNS_TOPIC_ARN=envelope.get("TopicArn", ""),
            )
        except (ValueError, TypeError, KeyError):  # a broken body gets no SNS headers, as from a stranger
            pass
    url = reverse("mailevents:webhook", args=[provider, direction])
    return client.post(url, data=body, content_type="application/json", **headers)


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": [WEBHOOK_SECRET], "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}
    settings.REPLY_TO_EMAIL = "replies@shop.example"
