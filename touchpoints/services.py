"""Logging touchpoints, and the customer figures that change with them."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.card_cache import TIMELINE, card_changed
from customers.health import FREQUENCY_WINDOW_DAYS
from customers.models import Customer, Product
from customers.services import product_get_or_create
from touchpoints.figures import customer_figures_compute, customer_referrer_refresh
from touchpoints.models import Touchpoint
from touchpoints.signals import touchpoint_logged

# The counters and the figures the touchpoint service keeps up to date on the customer row.
_COUNTER_FIELDS = ("last_touchpoint_at", "touchpoints_90d", "purchase_count", "lifetime_spend", "first_purchase_at")
_LOCKED_FIELDS = (*_COUNTER_FIELDS, "cadence_days", "referred_by_id")


def _customer_figures_add(*, customer: Customer, touchpoint: Touchpoint, now: datetime) -> None:
    """Fold one new touchpoint into the customer's counters and figures with one UPDATE (no scan).

    The row is read FOR NO KEY UPDATE first (the lock an UPDATE takes; it does not wait on the
    touchpoint INSERT's key-share lock), so two touchpoints logged at once for the same customer
    queue up instead of losing a count. The same queries whoever the customer is.
    """
    current = Customer.objects.select_for_update(no_key=True).values_list(*_LOCKED_FIELDS).get(pk=customer.pk)
    for name, value in zip(_LOCKED_FIELDS, current):
        setattr(customer, name, value)
    if customer.last_touchpoint_at is None or touchpoint.happened_at > customer.last_touchpoint_at:
        customer.last_touchpoint_at = touchpoint.happened_at
    if touchpoint.happened_at >= now - timedelta(days=FREQUENCY_WINDOW_DAYS):
        customer.touchpoints_90d += 1
    if touchpoint.kind == Touchpoint.Kind.PURCHASE:
        customer.purchase_count += 1
        customer.lifetime_spend += touchpoint.amount or Decimal(0)
        if customer.first_purchase_at is None or touchpoint.happened_at < customer.first_purchase_at:
            customer.first_purchase_at = touchpoint.happened_at
    figures = customer_figures_compute(customer=customer, now=now)
    for name, value in figures.items():
        setattr(customer, name, value)
    Customer.objects.filter(pk=customer.pk).update(
        **{name: getattr(customer, name) for name in _COUNTER_FIELDS}, **figures
    )
    # Only a referred friend's first purchase changes the referrer's figures ("referred a buyer").
    if touchpoint.kind == Touchpoint.Kind.PURCHASE and customer.purchase_count == 1:
        customer_referrer_refresh(customer=customer, now=now)


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
    # The customer and the user are rows we were handed: no need to query that they exist. The one
    # check constraint (amount not negative) is checked here rather than by a query in a savepoint.
    touchpoint.full_clean(exclude=["customer", "logged_by"], validate_constraints=False)
    if amount is not None and amount < 0:
        raise ValidationError({"amount": "The amount cannot be negative."})
    touchpoint.save()
    chosen = list({p.pk: p for p in (
        p if isinstance(p, Product) else product_get_or_create(name=p) for p in products if p
    )}.values())
    if chosen:  # a new touchpoint has no products yet: nothing to clear
        touchpoint.products.set(chosen)
    # Its products are known: showing the new entry needs no query for them.
    touchpoint._product_names = sorted(p.name for p in chosen)
    _customer_figures_add(customer=customer, touchpoint=touchpoint, now=now)
    touchpoint_logged.send(sender=Touchpoint, touchpoint=touchpoint)
    card_changed(customer.pk, [TIMELINE])
    return touchpoint
