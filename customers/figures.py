"""Relationship figures kept on the customer: health, stage and closeness.

The rules live here so the touchpoint service (per customer) and the nightly
recompute (set-based) agree. Issue #5 refines and documents them in the README.
"""

from datetime import datetime, timedelta

from crm.models import ShopSettings
from customers.models import Customer


def health_for(*, last_touchpoint_at: datetime | None, cadence_days: int, now: datetime) -> str:
    """Warm within the cadence, cooling up to twice it, cold after (or never seen)."""
    if last_touchpoint_at is None:
        return Customer.Health.COLD
    days = (now - last_touchpoint_at) / timedelta(days=1)
    if days <= cadence_days:
        return Customer.Health.WARM
    if days <= 2 * cadence_days:
        return Customer.Health.COOLING
    return Customer.Health.COLD


def stage_for(*, purchase_count: int) -> str:
    if purchase_count == 0:
        return Customer.Stage.PROSPECT
    if purchase_count < 3:
        return Customer.Stage.CUSTOMER
    return Customer.Stage.REGULAR


def customer_figures_refresh(*, customer: Customer, now: datetime) -> None:
    """Recompute the derived figures of one customer from its counters (no touchpoint scan)."""
    cadence = customer.cadence_days or ShopSettings.load().default_cadence_days
    customer.health = health_for(last_touchpoint_at=customer.last_touchpoint_at, cadence_days=cadence, now=now)
    customer.stage = stage_for(purchase_count=customer.purchase_count)
    customer.figures_updated_at = now
    Customer.objects.filter(pk=customer.pk).update(
        health=customer.health, stage=customer.stage, figures_updated_at=now
    )
