"""What each vendor sends: how its webhooks are signed, and how a payment or an order reads as a purchase.

Square
    Signature: https://developer.squareup.com/docs/webhooks/step3validate -- the
    ``x-square-hmacsha256-signature`` header is base64(HMAC-SHA256(signature key, notification URL + raw body)).
    Headers: https://developer.squareup.com/docs/webhooks/step2subscribe
    Payloads: https://developer.squareup.com/reference/square/payments-api/webhooks/payment.updated and
    https://developer.squareup.com/reference/square/refunds-api/webhooks/refund.updated -- money in the
    currency's smallest unit (``amount_money.amount``), the event's ``event_id`` and ``created_at``.
Shopify
    Signature: https://shopify.dev/docs/apps/build/webhooks/verify-deliveries -- the ``X-Shopify-Hmac-SHA256``
    header is base64(HMAC-SHA256(app client secret, raw body)).
    Duplicates: https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates -- the same
    ``X-Shopify-Event-Id`` on two deliveries is one event.
    Payloads: https://shopify.dev/docs/api/webhooks (topics ``orders/create``, ``orders/paid``,
    ``refunds/create``) -- prices as decimal strings, ``X-Shopify-Triggered-At`` for when it was sent.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

# Currencies with no minor unit (ISO 4217 exponent 0): Square sends their amounts as whole units.
ZERO_DECIMAL_CURRENCIES = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}
THREE_DECIMAL_CURRENCIES = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
# How old a delivery may be. Square retries a failed notification for up to 24 hours; Shopify retries
# 8 times over 4 hours. Anything older is a replay, not a retry.
MAX_AGE = {"square": timedelta(hours=25), "shopify": timedelta(hours=5)}
# A delivery dated this far ahead of our clock is forged or from a broken clock.
MAX_CLOCK_SKEW = timedelta(minutes=10)


class PayloadError(ValueError):
    """The body is signed but not in the shape the vendor documents."""


@dataclass
class Purchase:
    external_id: str
    amount: Decimal
    currency: str
    happened_at: datetime
    products: list[str] = field(default_factory=list)
    vendor_customer_id: str = ""
    email: str = ""
    phone: str = ""
    name: str = ""


@dataclass
class Refund:
    external_id: str
    purchase_external_id: str
    amount: Decimal | None
    refunded_at: datetime


def _hmac_b64(key: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()


def square_signature(*, key: str, notification_url: str, body: bytes) -> str:
    return _hmac_b64(key, notification_url.encode() + body)


def shopify_signature(*, secret: str, body: bytes) -> str:
    return _hmac_b64(secret, body)


def signature_valid(expected: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.strip().encode())


def _text(value, limit: int = 200) -> str:
    return str(value).strip()[:limit] if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


def parse_when(value) -> datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise PayloadError(f"not a date and time with a zone: {str(value)[:40]!r}")
    return parsed


def _currency(value) -> str:
    code = _text(value, 10).upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise PayloadError(f"not a currency code: {code!r}")
    return code


def _minor_units(value, currency: str) -> Decimal:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise PayloadError("amount_money.amount is not a whole number of the currency's smallest unit")
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 3 if currency in THREE_DECIMAL_CURRENCIES else 2
    amount = Decimal(value).scaleb(-places)
    return _fits(amount)


def _decimal(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PayloadError(f"not an amount: {str(value)[:40]!r}") from None
    if not amount.is_finite() or amount < 0:
        raise PayloadError(f"not an amount: {str(value)[:40]!r}")
    return _fits(amount)


def _fits(amount: Decimal) -> Decimal:
    amount = amount.quantize(Decimal("0.01"))
    if amount >= Decimal("1e8"):
        raise PayloadError("amount too large")
    return amount


def _dict(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise PayloadError(f"{name} is missing")
    return value


# --- Square ---------------------------------------------------------------------------


def square_event(payload: dict) -> tuple[str, str, datetime]:
    """(event id, type, created at) of a Square notification."""
    event_id, kind = _text(payload.get("event_id"), 100), _text(payload.get("type"), 60)
    if not event_id or not kind:
        raise PayloadError("event_id or type is missing")
    return event_id, kind, parse_when(payload.get("created_at"))


def _square_object(payload: dict, name: str) -> dict:
    data = _dict(payload.get("data"), "data")
    return _dict(_dict(data.get("object"), "data.object").get(name), f"data.object.{name}")


def square_parse(payload: dict) -> Purchase | Refund | None:
    """A completed payment as a purchase, a completed refund as a refund; anything else None."""
    kind = payload.get("type")
    if kind in ("payment.created", "payment.updated"):
        payment = _square_object(payload, "payment")
        if payment.get("status") != "COMPLETED":
            return None
        money = _dict(payment.get("amount_money"), "amount_money")
        currency = _currency(money.get("currency"))
        external_id = _text(payment.get("id"), 100)
        if not external_id:
            raise PayloadError("payment.id is missing")
        note = _text(payment.get("note"), 120)
        return Purchase(
            external_id=external_id,
            amount=_minor_units(money.get("amount"), currency),
            currency=currency,
            happened_at=parse_when(payment.get("created_at")),
            # A payment names no line items (they are on its order, which needs an API call):
            # its note, if staff typed one, is the closest thing.
            products=[note] if note else [],
            vendor_customer_id=_text(payment.get("customer_id"), 100),
            email=_text(payment.get("buyer_email_address"), 254),
            phone=_text(_dict(payment.get("billing_address") or {}, "billing_address").get("phone"), 40),
        )
    if kind in ("refund.created", "refund.updated"):
        refund = _square_object(payload, "refund")
        if refund.get("status") != "COMPLETED":
            return None
        money = _dict(refund.get("amount_money"), "amount_money")
        currency = _currency(money.get("currency"))
        external_id, payment_id = _text(refund.get("id"), 100), _text(refund.get("payment_id"), 100)
        if not external_id or not payment_id:
            raise PayloadError("refund.id or refund.payment_id is missing")
        return Refund(
            external_id=external_id,
            purchase_external_id=payment_id,
            amount=_minor_units(money.get("amount"), currency),
            refunded_at=parse_when(refund.get("updated_at") or refund.get("created_at")),
        )
    return None


# --- Shopify ----------------------------------------------------------------------------

SHOPIFY_PAID = {"paid", "partially_refunded", "refunded"}


def shopify_parse(topic: str, payload: dict) -> Purchase | Refund | None:
    """A paid order as a purchase (orders/create, orders/paid), a refund as a refund; anything else None."""
    if topic in ("orders/create", "orders/paid"):
        if topic == "orders/create" and payload.get("financial_status") not in SHOPIFY_PAID:
            return None  # not paid yet: orders/paid follows when it is
        external_id = _text(payload.get("id"), 100)
        if not external_id:
            raise PayloadError("order id is missing")
        given = payload.get("customer")
        customer: dict = given if isinstance(given, dict) else {}
        names = [customer.get("first_name"), customer.get("last_name")]
        products = []
        for item in payload.get("line_items") or []:
            title = _text(item.get("title") if isinstance(item, dict) else None, 120)
            if title:
                products.append(title)
        return Purchase(
            external_id=external_id,
            amount=_decimal(payload.get("total_price")),
            currency=_currency(payload.get("currency")),
            happened_at=parse_when(payload.get("processed_at") or payload.get("created_at")),
            products=products[:50],
            vendor_customer_id=_text(customer.get("id"), 100),
            email=_text(payload.get("email") or customer.get("email"), 254),
            phone=_text(payload.get("phone") or customer.get("phone"), 40),
            name=" ".join(_text(n, 100) for n in names if _text(n, 100)),
        )
    if topic == "refunds/create":
        external_id, order_id = _text(payload.get("id"), 100), _text(payload.get("order_id"), 100)
        if not external_id or not order_id:
            raise PayloadError("refund id or order_id is missing")
        total = Decimal(0)
        for transaction in payload.get("transactions") or []:
            if (
                isinstance(transaction, dict)
                and transaction.get("kind") == "refund"
                and transaction.get("status") == "success"
            ):
                total += _decimal(transaction.get("amount"))
        if total == 0:
            return None  # a restock or a note: no money went back
        return Refund(
            external_id=external_id,
            purchase_external_id=order_id,
            amount=_fits(total),
            refunded_at=parse_when(payload.get("processed_at") or payload.get("created_at")),
        )
    return None
