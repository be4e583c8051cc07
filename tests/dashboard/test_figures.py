"""Health, stage and closeness: the rules at their boundaries, and the nightly set-based recompute."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from crm.models import ShopSettings
from customers.health import closeness_for, health_for, stage_for
from customers.models import Customer
from tests.factories import CustomerFactory, TouchpointFactory
from touchpoints.figures import customer_figures_recompute_all
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
Health, Stage = Customer.Health, Customer.Stage


def _health(age: timedelta, **kw) -> str:
    return health_for(last_touchpoint_at=NOW - age, cadence_days=30, now=NOW, **kw)


def test_health_is_warm_up_to_the_cadence_and_cooling_just_after():
    assert _health(timedelta(days=30)) == Health.WARM
    assert _health(timedelta(days=30, seconds=1)) == Health.COOLING


def test_health_is_cooling_up_to_twice_the_cadence_and_cold_just_after():
    assert _health(timedelta(days=60)) == Health.COOLING
    assert _health(timedelta(days=60, seconds=1)) == Health.COLD


def test_a_customer_never_seen_is_cold_whatever_else():
    assert health_for(last_touchpoint_at=None, cadence_days=30, now=NOW, touchpoints_90d=50) == Health.COLD


def test_a_frequent_customer_is_one_step_warmer_from_six_touchpoints_in_90_days():
    assert _health(timedelta(days=45), touchpoints_90d=5) == Health.COOLING
    assert _health(timedelta(days=45), touchpoints_90d=6) == Health.WARM
    assert _health(timedelta(days=61), touchpoints_90d=6) == Health.COOLING


def test_net_negative_recent_feedback_makes_a_customer_one_step_colder():
    assert _health(timedelta(days=1), recent_sentiment=0) == Health.WARM
    assert _health(timedelta(days=1), recent_sentiment=-1) == Health.COOLING
    assert _health(timedelta(days=45), recent_sentiment=-1) == Health.COLD


def test_stage_boundaries():
    assert stage_for(purchase_count=0) == Stage.PROSPECT
    assert stage_for(purchase_count=1) == Stage.CUSTOMER
    assert stage_for(purchase_count=2) == Stage.CUSTOMER
    assert stage_for(purchase_count=3) == Stage.REGULAR
    # praise alone is not enough: the praising customer must be a regular
    assert stage_for(purchase_count=2, praise_count=1) == Stage.CUSTOMER
    assert stage_for(purchase_count=3, praise_count=1) == Stage.ADVOCATE
    # a referred friend who bought makes anyone an advocate
    assert stage_for(purchase_count=0, referral_buyers=1) == Stage.ADVOCATE


def test_closeness_adds_up_its_parts_and_caps_each():
    full = closeness_for(
        last_touchpoint_at=NOW - timedelta(days=14),
        now=NOW,
        touchpoints_90d=10,
        lifetime_spend=Decimal("1000"),
        referral_buyers=3,
        praise_count=4,
        recent_sentiment=0,
    )
    assert full == 100.0
    capped = closeness_for(
        last_touchpoint_at=NOW,
        now=NOW,
        touchpoints_90d=99,
        lifetime_spend=Decimal("99999"),
        referral_buyers=9,
        praise_count=9,
        recent_sentiment=0,
    )
    assert capped == 100.0
    # 15 days ago: 30 recency points; 3 touchpoints 7.5; 125 spent 2.5; a complaint -8
    assert (
        closeness_for(
            last_touchpoint_at=NOW - timedelta(days=15),
            now=NOW,
            touchpoints_90d=3,
            lifetime_spend=Decimal("125"),
            referral_buyers=0,
            praise_count=0,
            recent_sentiment=-1,
        )
        == 32.0
    )
    assert (
        closeness_for(
            last_touchpoint_at=None,
            now=NOW,
            touchpoints_90d=0,
            lifetime_spend=0,
            referral_buyers=0,
            praise_count=0,
            recent_sentiment=-1,
        )
        == 0.0
    )


@pytest.mark.django_db
def test_logging_a_touchpoint_warms_the_customer_in_the_same_transaction(staff):
    customer = CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        touchpoint_log(customer=customer, logged_by=staff, kind=Touchpoint.Kind.PURCHASE, amount=Decimal("40"))
    customer.refresh_from_db()
    assert (customer.health, customer.stage, customer.purchase_count) == (Health.WARM, Stage.CUSTOMER, 1)
    assert customer.closeness == 35 + 2.5 + 0.8


@pytest.mark.django_db
def test_a_referred_friends_first_purchase_makes_the_referrer_an_advocate(staff):
    referrer = CustomerFactory()
    friend = CustomerFactory(referred_by=referrer)
    with time_machine.travel(NOW, tick=False):
        touchpoint_log(customer=friend, logged_by=staff, kind=Touchpoint.Kind.PURCHASE, amount=Decimal("10"))
    referrer.refresh_from_db()
    assert referrer.stage == Stage.ADVOCATE
    assert referrer.closeness == 4.0


@pytest.mark.django_db
def test_the_nightly_recompute_turns_warm_into_cooling_with_no_touchpoint(staff):
    ShopSettings.objects.filter(pk=1).update(default_cadence_days=30)
    customer = CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        touchpoint_log(customer=customer, logged_by=staff, kind=Touchpoint.Kind.VISIT)
    customer.refresh_from_db()
    assert customer.health == Health.WARM

    customer_figures_recompute_all(now=NOW + timedelta(days=30))
    customer.refresh_from_db()
    assert customer.health == Health.WARM

    customer_figures_recompute_all(now=NOW + timedelta(days=30, seconds=1))
    customer.refresh_from_db()
    assert customer.health == Health.COOLING

    customer_figures_recompute_all(now=NOW + timedelta(days=61))
    customer.refresh_from_db()
    assert (customer.health, customer.touchpoints_90d) == (Health.COLD, 1)

    # time passing also empties the 90-day window
    customer_figures_recompute_all(now=NOW + timedelta(days=90, seconds=1))
    customer.refresh_from_db()
    assert customer.touchpoints_90d == 0
    assert customer.figures_updated_at == NOW + timedelta(days=90, seconds=1)


@pytest.mark.django_db
def test_the_nightly_recompute_uses_each_customers_own_cadence(staff):
    own = CustomerFactory(cadence_days=10)
    default = CustomerFactory()
    for customer in (own, default):
        TouchpointFactory(customer=customer, happened_at=NOW - timedelta(days=11))
    customer_figures_recompute_all(now=NOW)
    own.refresh_from_db()
    default.refresh_from_db()
    assert own.health == Health.COOLING
    assert default.health == Health.WARM


@pytest.mark.django_db
def test_the_nightly_recompute_agrees_with_the_per_touchpoint_refresh(staff):
    """Build varied customers through the service, then recompute set-based: nothing may change."""
    ShopSettings.objects.filter(pk=1).update(default_cadence_days=30)
    referrer = CustomerFactory(cadence_days=20)
    regular = CustomerFactory(referred_by=referrer)
    unhappy = CustomerFactory()
    frequent = CustomerFactory(cadence_days=7)
    CustomerFactory()  # never seen
    with time_machine.travel(NOW - timedelta(days=40), tick=False):
        for _ in range(3):
            touchpoint_log(customer=regular, logged_by=staff, kind="purchase", amount=Decimal("333.33"))
        touchpoint_log(customer=regular, logged_by=staff, kind="feedback", feedback_kind="praise", sentiment=1)
        touchpoint_log(customer=referrer, logged_by=staff, kind="visit")
    with time_machine.travel(NOW - timedelta(days=20), tick=False):
        for _ in range(6):
            touchpoint_log(customer=frequent, logged_by=staff, kind="call")
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        touchpoint_log(customer=unhappy, logged_by=staff, kind="purchase", amount=Decimal("12.50"))
        touchpoint_log(customer=unhappy, logged_by=staff, kind="feedback", feedback_kind="complaint", sentiment=-1)
    # Refresh everyone "now" one at a time, the way the touchpoint service would.
    from touchpoints.figures import customer_figures_refresh

    for customer in Customer.objects.all():
        customer_figures_refresh(customer=customer, now=NOW)
    fields = [
        "last_touchpoint_at",
        "purchase_count",
        "lifetime_spend",
        "touchpoints_90d",
        "health",
        "stage",
        "closeness",
    ]
    before = {c["pk"]: c for c in Customer.objects.values("pk", *fields)}

    changed = customer_figures_recompute_all(now=NOW)

    assert changed == 0  # the per-touchpoint figures were already what the set-based rules give
    after = {c["pk"]: c for c in Customer.objects.values("pk", *fields)}
    for pk, row in before.items():
        assert after[pk]["closeness"] == pytest.approx(row["closeness"])
        assert {k: v for k, v in after[pk].items() if k != "closeness"} == {
            k: v for k, v in row.items() if k != "closeness"
        }
    # and the expected values, worked out by hand
    by_pk = {pk: (r["health"], r["stage"]) for pk, r in after.items()}
    assert by_pk[regular.pk] == (Health.COOLING, Stage.ADVOCATE)  # 40 days > 30-day default cadence
    assert by_pk[referrer.pk] == (Health.COOLING, Stage.ADVOCATE)  # 40 days = 2 x 20, still cooling
    assert by_pk[frequent.pk] == (Health.COOLING, Stage.PROSPECT)  # cold by recency, frequent: one warmer
    assert by_pk[unhappy.pk] == (Health.COOLING, Stage.CUSTOMER)  # warm by recency, complaint: one colder
    # 40 days ago: 20; four touchpoints: 10; 999.99 spent: 19.9998; one praise: 2
    assert after[regular.pk]["closeness"] == 52.0


def test_the_recompute_as_of_a_past_day_leaves_out_what_happened_after_it():
    # The demo's health trend is worked out as of past days with the same recompute.
    customer = CustomerFactory(cadence_days=30)
    TouchpointFactory(
        customer=customer, kind=Touchpoint.Kind.PURCHASE, amount=Decimal("5.00"), happened_at=NOW - timedelta(days=100)
    )
    TouchpointFactory(
        customer=customer, kind=Touchpoint.Kind.PURCHASE, amount=Decimal("7.00"), happened_at=NOW - timedelta(days=10)
    )

    customer_figures_recompute_all(now=NOW - timedelta(days=95))
    customer.refresh_from_db()

    assert customer.last_touchpoint_at == NOW - timedelta(days=100)
    assert (customer.purchase_count, customer.lifetime_spend) == (1, Decimal("5.00"))
    assert customer.health == Health.WARM
