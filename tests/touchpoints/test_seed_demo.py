from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Q, Sum

from customers.models import Customer, FollowUp
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug_on(settings):
    """seed_demo runs on a developer's machine (DEBUG=True); pytest-django turns DEBUG off."""
    settings.DEBUG = True


def test_seed_demo_makes_the_logins_customers_touchpoints_and_followups():
    call_command("seed_demo", customers=40, touchpoints=600, seed=3)

    assert User.objects.get(username="owner").groups.filter(name="Owner").exists()
    assert User.objects.get(username="staff").groups.filter(name="Staff").exists()
    assert User.objects.get(username="staff").check_password("rapport-demo")
    assert Customer.objects.count() == 40
    assert Touchpoint.objects.count() == 600
    assert FollowUp.objects.exists()
    assert Touchpoint.objects.filter(kind=Touchpoint.Kind.PURCHASE, amount__gt=0).exists()


def test_seed_demo_sets_each_customers_figures_from_its_touchpoints():
    call_command("seed_demo", customers=30, touchpoints=500, seed=4)

    expected = Customer.objects.annotate(
        last=Max("touchpoints__happened_at"),
        purchases=Count("touchpoints", filter=Q(touchpoints__kind="purchase")),
        spend=Sum("touchpoints__amount", filter=Q(touchpoints__kind="purchase")),
        first_purchase=Min("touchpoints__happened_at", filter=Q(touchpoints__kind="purchase")),
    )
    seen_with_touchpoints = 0
    for customer in expected:
        assert customer.last_touchpoint_at == customer.last
        assert customer.purchase_count == customer.purchases
        assert customer.lifetime_spend == (customer.spend or Decimal("0"))
        assert customer.first_purchase_at == customer.first_purchase
        seen_with_touchpoints += customer.last is not None
    assert seen_with_touchpoints > 10
    # Health and stage follow the figures: a customer with 3+ purchases is at least a regular.
    assert not Customer.objects.filter(purchase_count__gte=3, stage=Customer.Stage.PROSPECT).exists()
    assert not Customer.objects.filter(last_touchpoint_at=None).exclude(health=Customer.Health.COLD).exists()


def test_seed_demo_if_empty_does_nothing_when_customers_exist():
    call_command("seed_demo", customers=5, touchpoints=10, seed=1)

    call_command("seed_demo", customers=50, touchpoints=100, if_empty=True)

    assert Customer.objects.count() == 5


def test_seed_demo_refuses_to_run_in_production_unless_forced(settings):
    settings.DEBUG = False
    settings.LOCAL_HTTP = False

    with pytest.raises(CommandError):
        call_command("seed_demo", customers=5, touchpoints=10)
    assert not Customer.objects.exists()

    call_command("seed_demo", customers=5, touchpoints=10, force=True)
    assert Customer.objects.count() == 5


def test_seed_demo_runs_on_the_shops_own_machine_with_debug_off(settings):
    # `make run`: DEBUG off but local HTTP (no production settings given).
    settings.DEBUG = False
    settings.LOCAL_HTTP = True

    call_command("seed_demo", customers=5, touchpoints=10)

    assert Customer.objects.count() == 5


def test_copy_text_escapes_what_would_break_a_row():
    from datetime import UTC, datetime

    from touchpoints.management.commands.seed_demo import _pg_text

    assert _pg_text("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
    assert (_pg_text(None), _pg_text(True), _pg_text(False), _pg_text(7)) == ("\\N", "t", "f", "7")
    assert _pg_text(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"
