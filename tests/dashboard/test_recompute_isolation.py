"""The nightly recompute carries on past a customer whose data it cannot compute (finding 2 of issue 15).

The customer's bad value is one from before the limits existed: the test puts it in with the
table's CHECK turned off for that one statement, as an old row would be.
"""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from tests.factories import CustomerFactory, TouchpointFactory
from touchpoints.figures import customer_figures_recompute_all

pytestmark = pytest.mark.django_db


def _force_cadence(customer: Customer, days: int) -> None:
    """Write a cadence the model and the CHECK refuse, as a row from before the limit would hold."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending: ALTER may run
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS customer_cadence_range")
            cursor.execute(f"UPDATE {table} SET cadence_days = %s WHERE id = %s", [days, customer.pk])
        else:
            cursor.execute("PRAGMA ignore_check_constraints = 1")
            cursor.execute(f"UPDATE {table} SET cadence_days = %s WHERE id = %s", [days, customer.pk])
            cursor.execute("PRAGMA ignore_check_constraints = 0")


def test_one_customer_with_a_billion_day_cadence_is_logged_and_everyone_else_is_recomputed(caplog):
    now = timezone.now()
    good = [CustomerFactory() for _ in range(5)]
    bad = CustomerFactory()
    for customer in [*good, bad]:
        TouchpointFactory(customer=customer, happened_at=now - timedelta(days=3))
    _force_cadence(bad, 1_000_000_000)
    Customer.objects.update(health=Customer.Health.COLD, touchpoints_90d=0)

    with caplog.at_level(logging.ERROR, logger="touchpoints.figures"):
        changed = customer_figures_recompute_all(now=now)

    assert changed == len(good)
    for customer in good:
        customer.refresh_from_db()
        assert (customer.health, customer.touchpoints_90d) == (Customer.Health.WARM, 1)
    bad.refresh_from_db()
    assert bad.touchpoints_90d == 0  # left as it was, not half-written
    assert f"Figures of customer {bad.pk} could not be recomputed" in caplog.text


def test_the_recompute_with_nothing_wrong_takes_the_set_based_path_once(django_assert_max_num_queries):
    now = timezone.now()
    for _ in range(3):
        TouchpointFactory(customer=CustomerFactory(), happened_at=now - timedelta(days=1))
    with django_assert_max_num_queries(12):
        assert customer_figures_recompute_all(now=now) == 3
