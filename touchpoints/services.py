"""Logging touchpoints, and the customer figures that change with them."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from customers.figures import customer_figures_refresh
from customers.models import Customer, Product
from customers.services import product_get_or_create
from touchpoints.hooks import touchpoint_logged
from touchpoints.models import Touchpoint


def _customer_figures_add(*, customer: Customer, touchpoint: Touchpoint, now: datetime) -> None:
    """Fold one new touchpoint into the customer's counters with one UPDATE (no scan)."""
    updates = {
        "last_touchpoint_at": Greatest(F("last_touchpoint_at"), touchpoint.happened_at)
        if customer.last_touchpoint_at
        else touchpoint.happened_at,
    }
    if touchpoint.happened_at >= now - timedelta(days=90):
        updates["touchpoints_90d"] = F("touchpoints_90d") + 1
    if touchpoint.kind == Touchpoint.Kind.PURCHASE:
        updates["purchase_count"] = F("purchase_count") + 1
        updates["lifetime_spend"] = F("lifetime_spend") + (touchpoint.amount or Decimal(0))
        updates["first_purchase_at"] = (
            Least(F("first_purchase_at"), touchpoint.happened_at)
            if customer.first_purchase_at
            else touchpoint.happened_at
        )
    Customer.objects.filter(pk=customer.pk).update(**updates)
    customer.refresh_from_db()
    customer_figures_refresh(customer=customer, now=now)


@transaction.atomic
def touchpoint_log(
    *,
    customer: Customer,
    logged_by: User | None,
    kind: str,
    happened_at: datetime | None = None,
    note: str = "",
    amount: Decimal | None = None,
    products: Iterable[Product | str] = (),
    feedback_kind: str = "",
    sentiment: int | None = None,
) -> Touchpoint:
    """Record an interaction and update the customer's figures in the same transaction.

    Products may be given by name: a missing one is added to the shop's list.
    Hooks registered by other apps (a complaint opens a follow-up, a purchase plans
    a thank-you) run inside this transaction too.
    """
    now = timezone.now()
    happened_at = happened_at or now
    if happened_at > now + timedelta(minutes=5):
        raise ValidationError({"happened_at": "A touchpoint cannot happen in the future."})
    if kind != Touchpoint.Kind.PURCHASE:
        amount = None
    if kind != Touchpoint.Kind.FEEDBACK:
        feedback_kind, sentiment = "", None
    touchpoint = Touchpoint(
        customer=customer, logged_by=logged_by, kind=kind, happened_at=happened_at, note=note,
        amount=amount, feedback_kind=feedback_kind, sentiment=sentiment,
    )
    touchpoint._history_user = logged_by
    touchpoint.full_clean()
    touchpoint.save()
    touchpoint.products.set(
        [p if isinstance(p, Product) else product_get_or_create(name=p) for p in products if p]
    )
    _customer_figures_add(customer=customer, touchpoint=touchpoint, now=now)
    touchpoint_logged(touchpoint)
    return touchpoint
