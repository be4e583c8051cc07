"""Recorded till payloads (tests/fixtures/tills/) and how to sign and send them as the vendors do."""

import json
import uuid
from pathlib import Path

from tills.vendors import shopify_signature, square_signature

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tills"
SQUARE_KEY = "sq0wbs-test-signature-key-5f2c"
SHOPIFY_SECRET = "shpss_test_client_secret_9a1b"
SQUARE_URL = "http://testserver/integrations/square/"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict:
    return json.loads(fixture(name))


def send_square(client, body: bytes, *, key: str = SQUARE_KEY, url: str = SQUARE_URL, signature: str | None = None):
    signature = square_signature(key=key, notification_url=url, body=body) if signature is None else signature
    return client.post(
        "/integrations/square/",
        data=body,
        content_type="application/json",
        headers={"x-square-hmacsha256-signature": signature, "square-environment": "Production"},
    )


def send_shopify(
    client,
    body: bytes,
    *,
    topic: str,
    triggered_at: str,
    event_id: str | None = None,
    secret: str = SHOPIFY_SECRET,
    signature: str | None = None,
):
    signature = shopify_signature(secret=secret, body=body) if signature is None else signature
    return client.post(
        "/integrations/shopify/",
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": "shop.myshopify.com",
            "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": triggered_at,
            "X-Shopify-API-Version": "2026-10",
        },
    )
