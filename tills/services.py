"""Writes for the tills: connecting one, receiving a delivery, turning it into a purchase or a refund.

A delivery is stored raw first (tills.views), then processed by a worker (tills.tasks). Processing
runs in one transaction with the delivery row locked: a worker that dies mid-way leaves it pending,
and the sweep processes it again; the purchase's unique (vendor, external id) and the refund's make
a second run a no-op.
"""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm.models import ShopSettings
from crm.tasks import enqueue_on_commit
from customers.models import Customer
from customers.services import customer_create, phone_normalise
from tills import vendors
from tills.models import TillConnection, TillDelivery, TillPurchase, TillRefund, Vendor, VendorCustomerLink
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log, touchpoint_refund

log = logging.getLogger(__name__)

# Bodies above this are refused unread (413): a Shopify order with hundreds of lines is ~200 KB.
MAX_BODY_BYTES = 1024 * 1024
# What a refused delivery keeps of its body: enough to see what it was, not a way to fill the disk.
REFUSED_BODY_KEEP = 16 * 1024
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "square-environment",
    "square-retry-number",
    "square-retry-reason",
    "square-initial-delivery-timestamp",
    "x-square-hmacsha256-signature",
    "x-shopify-topic",
    "x-shopify-hmac-sha256",
    "x-shopify-shop-domain",
    "x-shopify-webhook-id",
    "x-shopify-event-id",
    "x-shopify-triggered-at",
    "x-shopify-api-version",
)


# --- Connecting a till ---------------------------------------------------------------


@transaction.atomic
def till_connect(*, vendor: str, secret: str, notification_url: str = "", connected_by: User | None) -> TillConnection:
    """Save (or replace) the secret a vendor signs its webhooks with; a blank secret keeps the old one."""
    if vendor not in (Vendor.SQUARE, Vendor.SHOPIFY):
        raise ValidationError({"vendor": "Choose Square or Shopify."})
    connection = TillConnection.objects.filter(vendor=vendor).first() or TillConnection(vendor=vendor)
    secret = secret.strip()
    if secret:
        connection.secret = secret
    if not connection.secret:
        raise ValidationError({"secret": "Paste the secret from the till's settings."})
    if vendor == Vendor.SQUARE and not notification_url:
        raise ValidationError({"notification_url": "Square signs the URL too: give it exactly as pasted into Square."})
    connection.notification_url = notification_url
    connection.is_active = True
    connection.connected_by = connected_by
    connection.full_clean()
    connection.save()
    return connection


@transaction.atomic
def till_disconnect(*, vendor: str) -> None:
    """Stop accepting this vendor's webhooks (they are refused and recorded from now on)."""
    TillConnection.objects.filter(vendor=vendor).update(is_active=False)


# --- Receiving -------------------------------------------------------------------------


@dataclass
class Received:
    delivery: TillDelivery | None
    http_status: int
    message: str


def _kept_headers(headers) -> dict:
    return {name: str(value)[:300] for name, value in headers.items() if name.lower() in KEPT_HEADERS}


def _refuse(
    *, vendor: str, body: bytes, headers, http_status: int, why: str, event_id: str = "", event_type: str = ""
) -> Received:
    delivery = TillDelivery.objects.create(
        vendor=vendor,
        event_id=event_id[:100],
        event_type=event_type[:60],
        body=body[:REFUSED_BODY_KEEP].decode("utf-8", "replace"),
        headers=_kept_headers(headers),
        status=TillDelivery.Status.REFUSED,
        outcome=why[:300],
        http_status=http_status,
        processed_at=timezone.now(),
    )
    log.warning("Refused a %s webhook (%s): %s", vendor, http_status, why)
    return Received(delivery, http_status, why)


def _header(headers, name: str) -> str:
    return str(headers.get(name) or "")


def delivery_receive(*, vendor: str, body: bytes, headers, now: datetime | None = None) -> Received:
    """Check a webhook's signature and age, store it, and ask for a drain; a refused one is stored as refused.

    `headers` is case-insensitive (request.headers). A repeated event id answers 200 and changes nothing.
    One row is written, in a transaction of its own (no outer one: nothing else is written with it).
    """
    now = now or timezone.now()
    if len(body) > MAX_BODY_BYTES:
        return _refuse(
            vendor=vendor,
            body=b"",
            headers=headers,
            http_status=413,
            why=f"Body of {len(body)} bytes is over the {MAX_BODY_BYTES} byte limit.",
        )
    connection = TillConnection.objects.filter(vendor=vendor, is_active=True).first()
    if connection is None:
        return _refuse(
            vendor=vendor, body=body, headers=headers, http_status=404, why=f"{Vendor(vendor).label} is not connected."
        )
    if vendor == Vendor.SQUARE:
        expected = vendors.square_signature(
            key=connection.secret, notification_url=connection.notification_url, body=body
        )
        given = _header(headers, "x-square-hmacsha256-signature")
    else:
        expected = vendors.shopify_signature(secret=connection.secret, body=body)
        given = _header(headers, "x-shopify-hmac-sha256")
    if not vendors.signature_valid(expected, given):
        why = "No signature." if not given else "The signature does not match: forged, or the secret is wrong."
        return _refuse(vendor=vendor, body=body, headers=headers, http_status=401, why=why)
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise vendors.PayloadError("the body is not a JSON object")
        if vendor == Vendor.SQUARE:
            event_id, event_type, sent_at = vendors.square_event(payload)
        else:
            event_id = _header(headers, "x-shopify-event-id") or _header(headers, "x-shopify-webhook-id")
            event_type = _header(headers, "x-shopify-topic")
            if not event_id or not event_type:
                raise vendors.PayloadError("X-Shopify-Event-Id or X-Shopify-Topic is missing")
            sent_at = vendors.parse_when(_header(headers, "x-shopify-triggered-at") or payload.get("updated_at"))
    except (ValueError, UnicodeDecodeError) as error:  # json and PayloadError are ValueErrors
        return _refuse(vendor=vendor, body=body, headers=headers, http_status=400, why=f"Unreadable: {error}"[:300])
    if sent_at < now - vendors.MAX_AGE[vendor] or sent_at > now + vendors.MAX_CLOCK_SKEW:
        return _refuse(
            vendor=vendor,
            body=body,
            headers=headers,
            http_status=400,
            event_id=event_id,
            event_type=event_type,
            why=f"Sent at {sent_at.isoformat()}: outside the time the vendor retries for, so a replay.",
        )
    try:
        with transaction.atomic():
            delivery = TillDelivery.objects.create(
                vendor=vendor,
                event_id=event_id[:100],
                event_type=event_type[:60],
                body=body.decode(),
                headers=_kept_headers(headers),
            )
    except IntegrityError:
        return Received(None, 200, "Already received.")
    deliveries_drain_ask()
    return Received(delivery, 200, "Received.")


# The cache key under which a drain message waits (crm.tasks: one waiting message serves every delivery).
DRAIN_ASKED_KEY = "tills:drain-asked"


def deliveries_drain_ask() -> None:
    """After commit, ask a worker to drain the pending deliveries, unless a drain is already waiting to start.

    Never fails the caller: a lost message is caught by the sweep (every minute).
    """
    from tills.tasks import deliveries_drain_task

    enqueue_on_commit(deliveries_drain_task, backstop="the till sweep (every minute)", coalesce=DRAIN_ASKED_KEY)


# --- Processing ------------------------------------------------------------------------

# Deliveries one drain processes before it hands over to a fresh message (other tasks get a turn).
DRAIN_BATCH = 200


def _pending() -> QuerySet[TillDelivery]:
    # Oldest first, along the partial index of pending deliveries.
    return TillDelivery.objects.filter(status=TillDelivery.Status.PENDING).order_by("received_at")


def delivery_process(*, delivery_id: int) -> TillDelivery | None:
    """Turn a pending delivery into a purchase or a refund; None if it is not pending (done, or in hand)."""
    # The shop settings are read once for the whole delivery, as for a request (crm.middleware).
    with ShopSettings.for_request(), _commits_not_waiting_for_disk():
        return _delivery_process(_pending().filter(pk=delivery_id))


def deliveries_drain(*, limit: int = DRAIN_BATCH, received_before: datetime | None = None) -> int:
    """Process pending deliveries oldest first, each in its own transaction, until none is left or `limit`.

    Returns how many were claimed. Workers draining at once skip each other's rows (SKIP LOCKED). A delivery
    whose processing raised stays pending (its attempt and the error recorded) and is not tried again in this
    drain, so it never holds up the others; the sweep tries it again.
    """
    pending = _pending()
    if received_before is not None:
        pending = pending.filter(received_at__lte=received_before)
    claimed = 0
    held_back: list[int] = []
    # The shop settings are read once per drain, as once per request (crm.middleware).
    with ShopSettings.for_request(), _commits_not_waiting_for_disk():
        while claimed < limit:
            delivery = _delivery_process(pending.exclude(pk__in=held_back) if held_back else pending)
            if delivery is None:
                break
            claimed += 1
            if delivery.status == TillDelivery.Status.PENDING:
                held_back.append(delivery.pk)
    return claimed


@contextmanager
def _commits_not_waiting_for_disk() -> Iterator[None]:
    """Processing commits without waiting for the disk, set once for the session while it lasts.

    Safe: if PostgreSQL crashed before such a commit reached the disk, that delivery's whole transaction is
    lost at once, it is pending again and is processed again (the raw delivery itself was committed
    synchronously before the vendor got its 200). Reset afterwards: the connection serves other tasks.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:  # the connection broke (the error on its way out says why): the setting went with it
            pass


@transaction.atomic
def _delivery_process(pending: QuerySet[TillDelivery]) -> TillDelivery | None:
    """Claim the first of `pending` nobody else holds and process it; None when there is none."""
    delivery = pending.select_for_update(skip_locked=True).first()
    if delivery is None:
        return None
    delivery.attempts += 1
    try:
        event = _event_read(delivery)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        # Signed but not a shape we can use (a number where a list belongs, say): reading it again would
        # fail again, so it is kept for the owner to see and not retried.
        return _delivery_finished(delivery, TillDelivery.Status.FAILED, f"Could not read it: {error}")
    try:
        with transaction.atomic():
            if event is None:
                status, outcome = TillDelivery.Status.IGNORED, "Not a completed purchase or refund."
            elif isinstance(event, vendors.Purchase):
                purchase = _delivery_purchase_record(vendor=delivery.vendor, purchase=event)
                status, outcome = TillDelivery.Status.PROCESSED, _purchase_outcome(purchase)
            else:
                status, outcome = TillDelivery.Status.PROCESSED, _refund_record(vendor=delivery.vendor, refund=event)
    except (ValueError, ValidationError) as error:  # read, but refused by the services (an amount too large)
        return _delivery_finished(delivery, TillDelivery.Status.FAILED, f"Could not record it: {error}")
    except Exception as error:  # a lock timeout, a race lost to a twin delivery, a bug: undone, tried again later
        log.exception("Till delivery %s left pending after an error", delivery.pk)
        delivery.outcome = f"Will be tried again: {type(error).__name__}: {error}"[:300]
        delivery.save(update_fields=["outcome", "attempts"])
        return delivery
    return _delivery_finished(delivery, status, outcome)


def _event_read(delivery: TillDelivery) -> vendors.Purchase | vendors.Refund | None:
    payload = json.loads(delivery.body)
    if delivery.vendor == Vendor.SQUARE:
        return vendors.square_parse(payload)
    return vendors.shopify_parse(delivery.event_type, payload)


def _delivery_finished(delivery: TillDelivery, status: str, outcome: str) -> TillDelivery:
    delivery.status, delivery.outcome, delivery.processed_at = status, outcome[:300], timezone.now()
    delivery.save(update_fields=["status", "outcome", "attempts", "processed_at"])
    return delivery


def _purchase_outcome(purchase: TillPurchase) -> str:
    if purchase.customer_id is None:
        return f"Purchase {purchase.external_id} is waiting in From the till."
    return f"Purchase {purchase.external_id} on customer {purchase.customer_id}."


def via_label(vendor: str) -> str:
    return f"via {Vendor(vendor).label} till"


def customer_match(*, vendor: str, purchase: vendors.Purchase) -> Customer | None:
    """The customer a purchase belongs to: by the vendor's customer id, then email, then phone (E.164)."""
    people = Customer.objects.filter(erased_at__isnull=True)
    if purchase.vendor_customer_id:
        link = (
            VendorCustomerLink.objects.select_related("customer")
            .filter(vendor=vendor, vendor_customer_id=purchase.vendor_customer_id)
            .first()
        )
        if link is not None:
            return link.customer
    if purchase.email:
        found = people.filter(email__iexact=purchase.email.strip()).order_by("is_archived", "pk").first()
        if found is not None:
            return found
    if purchase.phone:
        try:
            phone = phone_normalise(raw=purchase.phone, region=ShopSettings.load().phone_region)
        except ValidationError:
            phone = ""
        if phone:
            return people.filter(phone=phone).order_by("is_archived", "pk").first()
    return None


def _link_remember(*, vendor: str, vendor_customer_id: str, customer: Customer) -> None:
    if vendor_customer_id and vendor != Vendor.API:
        VendorCustomerLink.objects.bulk_create(
            [VendorCustomerLink(vendor=vendor, vendor_customer_id=vendor_customer_id, customer=customer)],
            ignore_conflicts=True,
        )


@transaction.atomic
def purchase_record(
    *, vendor: str, purchase: vendors.Purchase, logged_by: User | None, customer: Customer | None = None, via: str = ""
) -> TillPurchase:
    """Record a till's (or the API's) purchase once per external id: on its customer, or parked.

    `customer` given (the API names one) skips matching. A purchase already recorded is returned as it is.
    """
    return _purchase_record(vendor=vendor, purchase=purchase, logged_by=logged_by, customer=customer, via=via)


def _till_purchase_new(*, vendor: str, purchase: vendors.Purchase) -> TillPurchase:
    return TillPurchase(
        vendor=vendor,
        external_id=purchase.external_id,
        amount=purchase.amount,
        currency=purchase.currency,
        products=purchase.products,
        happened_at=purchase.happened_at,
        vendor_customer_id=purchase.vendor_customer_id,
        buyer_name=purchase.name[:200],
        buyer_email=purchase.email[:254],
        buyer_phone=purchase.phone[:40],
    )


def _purchase_record(
    *, vendor: str, purchase: vendors.Purchase, logged_by: User | None, customer: Customer | None, via: str
) -> TillPurchase:
    till_purchase = _till_purchase_new(vendor=vendor, purchase=purchase)
    try:
        # The unique (vendor, external id) claims it: a second request with the same purchase waits, then fails here.
        with transaction.atomic():
            till_purchase.save()
    except IntegrityError:
        return TillPurchase.objects.get(vendor=vendor, external_id=purchase.external_id)
    if customer is None and vendor != Vendor.API:
        customer = customer_match(vendor=vendor, purchase=purchase)
    if customer is not None:
        _purchase_log(till_purchase=till_purchase, customer=customer, logged_by=logged_by, via=via or via_label(vendor))
    _refunds_apply(till_purchase=till_purchase)
    return till_purchase


def _delivery_purchase_record(*, vendor: str, purchase: vendors.Purchase) -> TillPurchase:
    """A delivery's purchase, inside the delivery's savepoint: read first (a vendor sends most orders twice,
    orders/create and orders/paid), then logged, then its row INSERTed with the touchpoint in it.

    A twin delivery processed at the same moment makes that INSERT fail on the unique (vendor, external id):
    the delivery's savepoint undoes the touchpoint, and the next try finds the twin's purchase.
    """
    existing = TillPurchase.objects.filter(vendor=vendor, external_id=purchase.external_id).first()
    if existing is not None:
        return existing
    till_purchase = _till_purchase_new(vendor=vendor, purchase=purchase)
    customer = customer_match(vendor=vendor, purchase=purchase)
    if customer is None:
        till_purchase.save()
    else:
        _purchase_log(till_purchase=till_purchase, customer=customer, logged_by=None, via=via_label(vendor))
    _refunds_apply(till_purchase=till_purchase)
    return till_purchase


def _purchase_log(*, till_purchase: TillPurchase, customer: Customer, logged_by: User | None, via: str) -> None:
    """The purchase touchpoint, through the same service as the counter's (figures, thank-you, loyalty gift)."""
    touchpoint = touchpoint_log(
        customer=customer,
        logged_by=logged_by,
        kind=Touchpoint.Kind.PURCHASE,
        happened_at=min(till_purchase.happened_at, timezone.now()),
        amount=till_purchase.amount,
        currency=till_purchase.currency,
        products=till_purchase.products,
        note=f"{Vendor(till_purchase.vendor).label} {till_purchase.external_id}"[:200],
        change_reason=via,
    )
    till_purchase.touchpoint, till_purchase.customer = touchpoint, customer
    if till_purchase.pk is None:  # a delivery's purchase: one INSERT with its touchpoint
        till_purchase.save()
    else:
        till_purchase.save(update_fields=["touchpoint", "customer"])
    _link_remember(vendor=till_purchase.vendor, vendor_customer_id=till_purchase.vendor_customer_id, customer=customer)
    if till_purchase.refunded_amount:
        touchpoint_refund(touchpoint=touchpoint, amount=till_purchase.refunded_amount, refunded_at=timezone.now())


@transaction.atomic
def refund_record(*, vendor: str, refund: vendors.Refund) -> str:
    """Record a refund once; applied to its purchase now, or when the purchase arrives (out of order)."""
    return _refund_record(vendor=vendor, refund=refund)


def _refund_record(*, vendor: str, refund: vendors.Refund) -> str:
    try:
        with transaction.atomic():
            TillRefund.objects.create(
                vendor=vendor,
                external_id=refund.external_id,
                purchase_external_id=refund.purchase_external_id,
                amount=refund.amount,
                refunded_at=refund.refunded_at,
            )
    except IntegrityError:
        return f"Refund {refund.external_id} was already recorded."
    till_purchase = (
        TillPurchase.objects.select_for_update().filter(vendor=vendor, external_id=refund.purchase_external_id).first()
    )
    if till_purchase is None:
        return f"Refund {refund.external_id} waits for purchase {refund.purchase_external_id}."
    _refunds_apply(till_purchase=till_purchase)
    return f"Refund {refund.external_id} taken off purchase {refund.purchase_external_id}."


def _refunds_apply(*, till_purchase: TillPurchase) -> None:
    """Apply this purchase's refunds not yet applied (they may have arrived before it)."""
    now = timezone.now()
    for refund in (
        TillRefund.objects.select_for_update()
        .filter(vendor=till_purchase.vendor, purchase_external_id=till_purchase.external_id, applied_at__isnull=True)
        .order_by("pk")
    ):
        amount = till_purchase.amount if refund.amount is None else refund.amount
        before = till_purchase.refunded_amount
        till_purchase.refunded_amount = min(till_purchase.amount, before + amount)
        till_purchase.save(update_fields=["refunded_amount"])
        if till_purchase.touchpoint is not None:
            touchpoint_refund(
                touchpoint=till_purchase.touchpoint,
                amount=till_purchase.refunded_amount - before,
                refunded_at=refund.refunded_at,
            )
        refund.applied_at = now
        refund.save(update_fields=["applied_at"])


# --- The "From the till" inbox ---------------------------------------------------------


def _parked(till_purchase: TillPurchase) -> TillPurchase:
    locked = TillPurchase.objects.select_for_update().get(pk=till_purchase.pk)
    if locked.touchpoint_id is not None:
        raise ValidationError("This purchase is already on a customer's card.")
    return locked


@transaction.atomic
def till_purchase_attach(*, till_purchase: TillPurchase, customer: Customer, attached_by: User) -> TillPurchase:
    """Put a parked purchase on a customer's card, as if the till had matched them."""
    locked = _parked(till_purchase)
    locked.dismissed_at = None
    _purchase_log(
        till_purchase=locked,
        customer=customer,
        logged_by=attached_by,
        via=f"{via_label(locked.vendor)}, attached by {attached_by.get_username()}",
    )
    return locked


@transaction.atomic
def till_purchase_customer_create(*, till_purchase: TillPurchase, created_by: User) -> TillPurchase:
    """Add the buyer the till named as a new customer and put the purchase on their card."""
    locked = _parked(till_purchase)
    first, _, last = (locked.buyer_name or "").partition(" ")
    if not first:
        first = locked.buyer_email.split("@")[0][:100] if locked.buyer_email else "Till customer"
    phone = locked.buyer_phone
    try:
        phone = phone_normalise(raw=phone, region=ShopSettings.load().phone_region)
    except ValidationError:
        phone = ""  # the till's number is not one we can store; the rest is still worth keeping
    customer = customer_create(
        created_by=created_by,
        first_name=first[:100],
        last_name=last[:100],
        email=locked.buyer_email,
        phone=phone,
        how_we_met=f"{Vendor(locked.vendor).label} purchase"[:200],
    )
    _purchase_log(
        till_purchase=locked,
        customer=customer,
        logged_by=created_by,
        via=f"{via_label(locked.vendor)}, new customer by {created_by.get_username()}",
    )
    return locked


@transaction.atomic
def till_purchase_dismiss(*, till_purchase: TillPurchase) -> None:
    """Take a parked purchase out of the inbox (a test payment, an anonymous walk-in)."""
    _parked(till_purchase)
    TillPurchase.objects.filter(pk=till_purchase.pk).update(dismissed_at=timezone.now())


# --- Sweep -----------------------------------------------------------------------------


def deliveries_sweep(*, older_than_seconds: int = 30, limit: int = 500) -> int:
    """Process deliveries still pending after a while (their broker message was lost); returns how many."""
    return deliveries_drain(limit=limit, received_before=timezone.now() - timedelta(seconds=older_than_seconds))
