"""Square and Shopify webhooks: signed deliveries become purchases once, forged or stale ones are refused."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from automations.models import OutboundMessage
from automations.planners import plan_thank_yous
from tests.factories import CustomerFactory
from tests.tills.helpers import fixture, fixture_json, send_shopify, send_square
from tills.models import TillDelivery, TillPurchase, VendorCustomerLink
from tills.services import DRAIN_ASKED_KEY, MAX_BODY_BYTES, deliveries_sweep
from tills.tasks import deliveries_drain_task
from touchpoints.figures import customer_figures_recompute_all
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log
from touchpoints.signals import touchpoint_logged

pytestmark = pytest.mark.django_db

SQUARE_PAID = "square_payment_updated_completed.json"
SQUARE_REFUND = "square_refund_updated_completed.json"
SHOPIFY_PAID = "shopify_orders_create_paid.json"


def _history_reason(touchpoint: Touchpoint) -> str:
    return touchpoint.history.latest().history_change_reason


# --- Square ---------------------------------------------------------------------------


def test_a_completed_square_payment_becomes_one_purchase_on_the_customer_with_its_email(
    client, square, at_square_time, django_capture_on_commit_callbacks
):
    ann = CustomerFactory(email="ann.friend@mail.example")

    with django_capture_on_commit_callbacks(execute=True):
        response = send_square(client, fixture(SQUARE_PAID))

    assert response.status_code == 200
    purchase = Touchpoint.objects.get(customer=ann, kind="purchase")
    assert purchase.amount == Decimal("24.50") and purchase.currency == ""  # GBP is the shop's currency
    assert purchase.product_names == ["Flat white and a croissant"]
    assert _history_reason(purchase) == "via Square till"
    ann.refresh_from_db()
    assert (ann.purchase_count, ann.lifetime_spend) == (1, Decimal("24.50"))
    # Square's customer id is remembered: the next purchase matches even without an email.
    assert VendorCustomerLink.objects.get(vendor="square").customer == ann
    assert TillDelivery.objects.get().status == TillDelivery.Status.PROCESSED


def test_the_same_square_delivery_sent_five_times_creates_one_purchase(
    client, square, at_square_time, django_capture_on_commit_callbacks
):
    ann = CustomerFactory(email="ann.friend@mail.example")

    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            assert send_square(client, fixture(SQUARE_PAID)).status_code == 200

    assert Touchpoint.objects.filter(customer=ann, kind="purchase").count() == 1
    assert TillDelivery.objects.count() == 1
    ann.refresh_from_db()
    assert ann.purchase_count == 1


def test_the_same_payment_in_two_events_is_still_one_purchase(
    client, square, at_square_time, django_capture_on_commit_callbacks
):
    """payment.created and payment.updated both COMPLETED (two event ids, one payment id)."""
    ann = CustomerFactory(email="ann.friend@mail.example")
    payload = fixture_json(SQUARE_PAID)
    other = dict(payload, event_id="another-event-for-the-same-payment", type="payment.created")

    with django_capture_on_commit_callbacks(execute=True):
        send_square(client, fixture(SQUARE_PAID))
    with django_capture_on_commit_callbacks(execute=True):
        send_square(client, json.dumps(other).encode())

    assert Touchpoint.objects.filter(customer=ann, kind="purchase").count() == 1
    assert TillDelivery.objects.filter(status="processed").count() == 2


def test_a_forged_square_delivery_creates_nothing_and_the_owner_sees_it_refused(
    client, square, owner, at_square_time, django_capture_on_commit_callbacks
):
    CustomerFactory(email="ann.friend@mail.example")

    with django_capture_on_commit_callbacks(execute=True):
        response = send_square(client, fixture(SQUARE_PAID), key="not-the-signature-key")

    assert response.status_code == 401
    assert not Touchpoint.objects.exists() and not TillPurchase.objects.exists()
    refused = TillDelivery.objects.get()
    assert refused.status == TillDelivery.Status.REFUSED and refused.http_status == 401
    # The owner sees it on the till page.
    client.force_login(owner)
    page = client.get("/settings/till/").content.decode()
    assert "Refused (401)" in page and "does not match" in page


def test_a_forged_delivery_cannot_block_the_real_one_by_reusing_its_event_id(
    client, square, at_square_time, django_capture_on_commit_callbacks
):
    ann = CustomerFactory(email="ann.friend@mail.example")
    send_square(client, fixture(SQUARE_PAID), signature="Zm9yZ2Vk")

    with django_capture_on_commit_callbacks(execute=True):
        assert send_square(client, fixture(SQUARE_PAID)).status_code == 200

    assert Touchpoint.objects.filter(customer=ann).count() == 1


def test_a_square_delivery_without_a_signature_is_refused(client, square, at_square_time):
    response = client.post("/integrations/square/", data=fixture(SQUARE_PAID), content_type="application/json")

    assert response.status_code == 401
    assert TillDelivery.objects.get().outcome == "No signature."


def test_a_square_delivery_signed_for_another_url_is_refused(client, square, at_square_time):
    response = send_square(client, fixture(SQUARE_PAID), url="https://elsewhere.example/hook")

    assert response.status_code == 401


def test_a_square_delivery_older_than_square_retries_for_is_refused_as_a_replay(client, square, time_machine):
    time_machine.move_to("2026-12-01T12:00:00Z", tick=False)  # 26 hours after it was sent

    response = send_square(client, fixture(SQUARE_PAID))

    assert response.status_code == 400
    delivery = TillDelivery.objects.get()
    assert delivery.status == TillDelivery.Status.REFUSED and "replay" in delivery.outcome
    assert not TillPurchase.objects.exists()


def test_a_square_payment_not_yet_completed_is_ignored(
    client, square, at_square_time, django_capture_on_commit_callbacks
):
    CustomerFactory(email="ann.friend@mail.example")

    with django_capture_on_commit_callbacks(execute=True):
        send_square(client, fixture("square_payment_updated_approved.json"))

    assert TillDelivery.objects.get().status == TillDelivery.Status.IGNORED
    assert not Touchpoint.objects.exists()


def test_a_refund_that_arrives_before_its_payment_is_applied_when_the_payment_arrives(
    client, square, time_machine, django_capture_on_commit_callbacks
):
    ann = CustomerFactory(email="ann.friend@mail.example")
    time_machine.move_to("2026-11-30T11:02:12Z", tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        send_square(client, fixture(SQUARE_REFUND))
    with django_capture_on_commit_callbacks(execute=True):
        send_square(client, fixture(SQUARE_PAID))

    purchase = Touchpoint.objects.get(customer=ann, kind="purchase")
    assert purchase.refunded_at is not None and purchase.refunded_amount == Decimal("24.50")
    ann.refresh_from_db()
    assert (ann.purchase_count, ann.lifetime_spend, ann.first_purchase_at) == (0, Decimal("0.00"), None)
    # The nightly recompute agrees with what the refund left.
    customer_figures_recompute_all(now=timezone.now())
    ann.refresh_from_db()
    assert (ann.purchase_count, ann.lifetime_spend) == (0, Decimal("0.00"))


def test_a_refund_after_the_payment_corrects_the_figures_and_stops_the_thank_you(
    client, square, time_machine, django_capture_on_commit_callbacks
):
    ann = CustomerFactory(email="ann.friend@mail.example")
    time_machine.move_to("2026-11-30T10:15:05Z", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        send_square(client, fixture(SQUARE_PAID))
    time_machine.move_to("2026-11-30T11:02:12Z", tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        send_square(client, fixture(SQUARE_REFUND))
    with django_capture_on_commit_callbacks(execute=True):
        send_square(client, fixture(SQUARE_REFUND))  # a repeat takes nothing off twice

    ann.refresh_from_db()
    assert (ann.purchase_count, ann.lifetime_spend) == (0, Decimal("0.00"))
    time_machine.move_to("2026-12-01T09:00:00Z", tick=False)
    plan_thank_yous(now=timezone.now())
    assert not OutboundMessage.objects.filter(customer=ann, kind="thankyou").exists()


def test_square_amounts_in_a_currency_without_minor_units_are_whole_and_parked_when_nobody_matches(
    client, square, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to("2026-11-30T12:00:05Z", tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        send_square(client, fixture("square_payment_updated_jpy_unknown.json"))

    parked = TillPurchase.objects.get()
    assert (parked.amount, parked.currency, parked.customer_id, parked.touchpoint_id) == (
        Decimal("1500.00"),
        "JPY",
        None,
        None,
    )


# --- Shopify --------------------------------------------------------------------------


def test_a_paid_shopify_order_becomes_a_purchase_with_its_products_and_the_loyalty_gift_follows(
    client, shopify, at_shopify_time, django_capture_on_commit_callbacks
):
    jon = CustomerFactory(email="jon.regular@mail.example")
    for days in (40, 30, 20, 10):  # four purchases at the counter; every 5th earns the loyalty gift
        touchpoint_log(
            customer=jon,
            logged_by=None,
            kind="purchase",
            amount=Decimal("5"),
            happened_at=timezone.now() - timedelta(days=days),
        )

    with django_capture_on_commit_callbacks(execute=True):
        response = send_shopify(
            client, fixture(SHOPIFY_PAID), topic="orders/create", triggered_at="2026-11-30T14:30:13Z"
        )

    assert response.status_code == 200
    purchase = Touchpoint.objects.filter(customer=jon).first()
    assert purchase.amount == Decimal("39.95")
    assert purchase.product_names == ["Ceramic pour-over", "Ethiopia Yirgacheffe 250g"]
    jon.refresh_from_db()
    assert (jon.purchase_count, jon.lifetime_spend) == (5, Decimal("59.95"))
    assert OutboundMessage.objects.filter(customer=jon, kind="loyalty", occasion_key="loyalty:5").count() == 1
    # The thank-you is planned the next day, as for a purchase typed at the counter.
    plan_thank_yous(now=timezone.now() + timedelta(days=1))
    assert OutboundMessage.objects.get(customer=jon, kind="thankyou").occasion_key == f"thankyou:{purchase.pk}"


def test_orders_create_then_orders_paid_for_the_same_order_is_one_purchase(
    client, shopify, at_shopify_time, django_capture_on_commit_callbacks
):
    jon = CustomerFactory(email="jon.regular@mail.example")

    for topic in ("orders/create", "orders/paid"):
        with django_capture_on_commit_callbacks(execute=True):
            send_shopify(client, fixture(SHOPIFY_PAID), topic=topic, triggered_at="2026-11-30T14:30:13Z")

    assert Touchpoint.objects.filter(customer=jon, kind="purchase").count() == 1


def test_a_shopify_order_not_yet_paid_is_ignored(client, shopify, at_shopify_time, django_capture_on_commit_callbacks):
    CustomerFactory(email="jon.regular@mail.example")

    with django_capture_on_commit_callbacks(execute=True):
        send_shopify(
            client,
            fixture("shopify_orders_create_pending.json"),
            topic="orders/create",
            triggered_at="2026-11-30T14:40:00Z",
        )

    assert TillDelivery.objects.get().status == TillDelivery.Status.IGNORED
    assert not TillPurchase.objects.exists()


def test_a_partial_shopify_refund_takes_its_amount_off_lifetime_spend(
    client, shopify, at_shopify_time, django_capture_on_commit_callbacks
):
    jon = CustomerFactory(email="jon.regular@mail.example")
    with django_capture_on_commit_callbacks(execute=True):
        send_shopify(client, fixture(SHOPIFY_PAID), topic="orders/create", triggered_at="2026-11-30T14:30:13Z")

    with django_capture_on_commit_callbacks(execute=True):
        send_shopify(
            client, fixture("shopify_refunds_create.json"), topic="refunds/create", triggered_at="2026-11-30T15:05:00Z"
        )

    jon.refresh_from_db()
    assert (jon.purchase_count, jon.lifetime_spend) == (1, Decimal("27.95"))
    purchase = Touchpoint.objects.get(customer=jon)
    assert purchase.refunded_amount == Decimal("12.00") and purchase.refunded_at is None
    customer_figures_recompute_all(now=timezone.now())
    jon.refresh_from_db()
    assert (jon.purchase_count, jon.lifetime_spend) == (1, Decimal("27.95"))


def test_a_euro_order_matched_by_phone_keeps_its_currency_and_leaves_pound_spend_alone(
    client, shopify, at_shopify_time, django_capture_on_commit_callbacks
):
    elodie = CustomerFactory(email="", phone="+33612345678")

    with django_capture_on_commit_callbacks(execute=True):
        send_shopify(
            client,
            fixture("shopify_orders_create_eur_phone.json"),
            topic="orders/create",
            triggered_at="2026-11-30T15:05:02Z",
        )

    purchase = Touchpoint.objects.get(customer=elodie)
    assert (purchase.amount, purchase.currency) == (Decimal("18.50"), "EUR")
    elodie.refresh_from_db()
    assert (elodie.purchase_count, elodie.lifetime_spend) == (1, Decimal("0.00"))
    customer_figures_recompute_all(now=timezone.now())
    elodie.refresh_from_db()
    assert (elodie.purchase_count, elodie.lifetime_spend) == (1, Decimal("0.00"))


def test_a_shopify_delivery_with_a_bad_hmac_is_refused(client, shopify, at_shopify_time):
    response = send_shopify(
        client, fixture(SHOPIFY_PAID), topic="orders/create", triggered_at="2026-11-30T14:30:13Z", secret="wrong"
    )

    assert response.status_code == 401
    assert TillDelivery.objects.get().status == TillDelivery.Status.REFUSED


def test_a_shopify_delivery_triggered_hours_ago_is_refused(client, shopify, at_shopify_time):
    response = send_shopify(client, fixture(SHOPIFY_PAID), topic="orders/create", triggered_at="2026-11-30T08:00:00Z")

    assert response.status_code == 400


def test_the_same_shopify_event_id_twice_is_a_no_op(client, shopify, at_shopify_time):
    for _ in range(2):
        response = send_shopify(
            client, fixture(SHOPIFY_PAID), topic="orders/create", event_id="evt-1", triggered_at="2026-11-30T14:30:13Z"
        )
        assert response.status_code == 200

    assert TillDelivery.objects.count() == 1


# --- Anything that is not a purchase ------------------------------------------------------


def test_an_oversized_body_is_refused_with_413_and_its_content_not_kept(client, shopify, at_shopify_time):
    body = b'{"id": 1, "note": "' + b"x" * MAX_BODY_BYTES + b'"}'

    response = send_shopify(client, body, topic="orders/create", triggered_at="2026-11-30T14:30:13Z")

    assert response.status_code == 413
    refused = TillDelivery.objects.get()
    assert refused.status == TillDelivery.Status.REFUSED and refused.body == ""


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"type": "payment.updated"}', '{"x": "\udcff"}'.encode("utf-8", "surrogatepass")]
)
def test_a_signed_body_that_is_not_a_square_event_is_refused_with_400(client, square, at_square_time, body):
    response = send_square(client, body)

    assert response.status_code == 400
    assert not TillPurchase.objects.exists()


def test_a_webhook_for_a_till_that_is_not_connected_is_refused(client, at_square_time):
    response = send_square(client, fixture(SQUARE_PAID))

    assert response.status_code == 404
    assert TillDelivery.objects.get().status == TillDelivery.Status.REFUSED


def test_a_get_is_not_a_delivery(client, square):
    assert client.get("/integrations/square/").status_code == 405


def test_the_sweep_processes_a_delivery_whose_broker_message_was_lost(
    client, square, time_machine, django_capture_on_commit_callbacks
):
    ann = CustomerFactory(email="ann.friend@mail.example")
    time_machine.move_to("2026-11-30T10:15:05Z", tick=False)
    with django_capture_on_commit_callbacks(execute=False):  # the message never reaches a worker
        send_square(client, fixture(SQUARE_PAID))
    assert TillDelivery.objects.get().status == TillDelivery.Status.PENDING

    time_machine.move_to("2026-11-30T10:16:05Z", tick=False)
    assert deliveries_sweep() == 1
    assert deliveries_sweep() == 0

    assert Touchpoint.objects.filter(customer=ann, kind="purchase").count() == 1


def _shopify_order(order_id: int, email: str = "jon.regular@mail.example", **changes) -> bytes:
    """The recorded paid order under another id (and buyer), as a new order from the same shop."""
    payload = fixture_json(SHOPIFY_PAID)
    payload["id"] = order_id
    payload["email"] = email
    payload["customer"] = {**payload["customer"], "id": order_id + 1, "email": email}
    payload.update(changes)
    return json.dumps(payload).encode()


def _store(client, body: bytes) -> None:
    """Send it as Shopify does; its drain message is lost (the callbacks are not run)."""
    response = send_shopify(client, body, topic="orders/create", triggered_at="2026-11-30T14:30:13Z")
    assert response.status_code == 200


# --- Throughput: drains, and queries that stay the same ------------------------------------


def test_one_drain_processes_every_delivery_stored_before_it(
    client, shopify, at_shopify_time, django_capture_on_commit_callbacks
):
    CustomerFactory(email="jon.regular@mail.example")
    with django_capture_on_commit_callbacks(execute=False):
        for order_id in (101, 102, 103):
            _store(client, _shopify_order(order_id))

    assert deliveries_drain_task() == 3

    assert set(TillDelivery.objects.values_list("status", flat=True)) == {TillDelivery.Status.PROCESSED}
    assert Touchpoint.objects.filter(kind="purchase").count() == 3


def test_while_a_drain_waits_to_start_a_new_delivery_sends_no_second_message(
    client, shopify, at_shopify_time, django_capture_on_commit_callbacks
):
    CustomerFactory(email="jon.regular@mail.example")
    cache.add(DRAIN_ASKED_KEY, 1)  # a drain message is queued and has not started yet

    with django_capture_on_commit_callbacks(execute=True):  # eager tasks: a message sent would run here
        _store(client, _shopify_order(101))

    # Nothing ran: the waiting drain will process it.
    assert TillDelivery.objects.get().status == TillDelivery.Status.PENDING
    assert deliveries_drain_task() == 1
    assert TillDelivery.objects.get().status == TillDelivery.Status.PROCESSED
    # Once a drain has started, the next delivery asks again.
    assert cache.get(DRAIN_ASKED_KEY) is None
    with django_capture_on_commit_callbacks(execute=True):
        _store(client, _shopify_order(102))
    assert TillDelivery.objects.filter(status=TillDelivery.Status.PENDING).count() == 0


def test_a_delivery_that_breaks_processing_stays_pending_and_does_not_hold_up_the_next(
    client, shopify, at_shopify_time, django_capture_on_commit_callbacks
):
    CustomerFactory(email="jon.regular@mail.example")
    with django_capture_on_commit_callbacks(execute=False):
        _store(client, _shopify_order(101))
        _store(client, _shopify_order(102))

    calls = []

    def break_the_first(sender, *, touchpoint, **kwargs) -> None:  # a bug in a listener, after the purchase's rows
        calls.append(touchpoint)
        if len(calls) == 1:
            raise RuntimeError("a listener failed")

    touchpoint_logged.connect(break_the_first)
    try:
        assert deliveries_drain_task() == 2
    finally:
        touchpoint_logged.disconnect(break_the_first)

    broken = TillDelivery.objects.get(body__contains='"id": 101,')
    # Tried once in this drain, left for the sweep, with the error for the owner to see.
    assert (broken.status, broken.attempts) == (TillDelivery.Status.PENDING, 1)
    assert broken.outcome == "Will be tried again: RuntimeError: a listener failed"
    assert TillDelivery.objects.exclude(pk=broken.pk).get().status == TillDelivery.Status.PROCESSED
    assert TillPurchase.objects.filter(external_id="101").count() == 0  # its half-done work was undone
    assert deliveries_sweep(older_than_seconds=0) == 1  # the sweep tries it again, the listener mended
    assert TillPurchase.objects.filter(external_id="101").count() == 1


def test_a_signed_delivery_of_a_shape_we_cannot_read_fails_for_the_owner_to_see_and_is_not_retried(
    client, shopify, at_shopify_time, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        _store(client, _shopify_order(101, line_items=7))  # signed, but a number where a list belongs

    assert deliveries_drain_task() == 1

    delivery = TillDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (TillDelivery.Status.FAILED, 1)
    assert delivery.outcome.startswith("Could not read it:")
    assert deliveries_drain_task() == 0 and TillPurchase.objects.count() == 0


def test_receiving_a_delivery_takes_a_fixed_number_of_queries(
    client, shopify, at_shopify_time, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        # The shop settings (middleware), the connection, the INSERT in its savepoint (its own transaction
        # outside tests). The drain is asked for after commit, in the cache.
        with django_assert_num_queries(5):
            _store(client, _shopify_order(101))
        event_id = TillDelivery.objects.get().event_id
        with django_assert_num_queries(6):  # a repeated event id: its INSERT refused by the index, rolled back
            send_shopify(
                client,
                _shopify_order(101),
                topic="orders/create",
                triggered_at="2026-11-30T14:30:13Z",
                event_id=event_id,
            )

    assert TillDelivery.objects.count() == 1


@pytest.mark.parametrize("earlier_purchases", [1, 30])
def test_processing_a_purchase_takes_a_fixed_number_of_queries_however_long_the_history(
    client,
    shopify,
    at_shopify_time,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
    earlier_purchases,
):
    jon = CustomerFactory(email="jon.regular@mail.example")
    for days in range(earlier_purchases):
        touchpoint_log(
            customer=jon,
            logged_by=None,
            kind="purchase",
            amount=Decimal("5"),
            happened_at=timezone.now() - timedelta(days=days + 1),
            products=["Ceramic pour-over", "Ethiopia Yirgacheffe 250g"],
        )
    # The first till order of the shop makes its automation rows; the one measured is a later one.
    with django_capture_on_commit_callbacks(execute=False):
        _store(client, _shopify_order(101))
        assert deliveries_drain_task() == 1
        _store(client, _shopify_order(102))

    # 22 for the delivery (savepoints included): the claim, is it known, matching by link then email, the
    # touchpoint with its history, two products (read in one query) and the figures (their feedback and referral inputs read with
    # the customer's lock), the automations, the purchase's row, its link and refunds, the outcome. 6 for the
    # drain: the shop settings, commits not waiting for the disk (set and reset), the last claim finding none.
    with django_assert_max_num_queries(28):
        assert deliveries_drain_task() == 1

    assert Touchpoint.objects.filter(customer=jon, kind="purchase").count() == earlier_purchases + 2
