"""Logging touchpoints, and the customer figures that change with them."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.models import ShopSettings
from customers.card_cache import TIMELINE, USUALLY_BUYS, card_changed
from customers.health import FREQUENCY_WINDOW_DAYS
from customers.models import Customer, Product
from customers.services import products_resolve
from touchpoints.figures import (
    FIGURE_INPUT_NAMES,
    customer_figures_compute,
    customer_referrer_refresh,
    figure_inputs,
    figure_inputs_of,
)
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
    locked = Customer.objects.select_for_update(no_key=True).annotate(**figure_inputs(now))
    *current, praises, sentiment, buyers = locked.values_list(*_LOCKED_FIELDS, *FIGURE_INPUT_NAMES).get(pk=customer.pk)
    inputs = figure_inputs_of(praises, sentiment, buyers)
    for name, value in zip(_LOCKED_FIELDS, current):
        setattr(customer, name, value)
    if customer.last_touchpoint_at is None or touchpoint.happened_at > customer.last_touchpoint_at:
        customer.last_touchpoint_at = touchpoint.happened_at
    if touchpoint.happened_at >= now - timedelta(days=FREQUENCY_WINDOW_DAYS):
        customer.touchpoints_90d += 1
    if touchpoint.kind == Touchpoint.Kind.PURCHASE:
        customer.purchase_count += 1
        if _in_shop_currency(touchpoint):
            customer.lifetime_spend += touchpoint.amount or Decimal(0)
        if customer.first_purchase_at is None or touchpoint.happened_at < customer.first_purchase_at:
            customer.first_purchase_at = touchpoint.happened_at
    # The feedback and referral inputs were read with the lock: this touchpoint (inserted before) counts.
    figures = customer_figures_compute(customer=customer, now=now, inputs=inputs)
    for name, value in figures.items():
        setattr(customer, name, value)
    Customer.objects.filter(pk=customer.pk).update(
        **{name: getattr(customer, name) for name in _COUNTER_FIELDS}, **figures
    )
    # Only a referred friend's first purchase changes the referrer's figures ("referred a buyer").
    if touchpoint.kind == Touchpoint.Kind.PURCHASE and customer.purchase_count == 1:
        customer_referrer_refresh(customer=customer, now=now)


def touchpoint_limits_check(*, happened_at: datetime, amount: Decimal | None, now: datetime) -> None:
    """Not in the future, not before the shop opened, an amount no larger than the shop's largest (settings)."""
    shop = ShopSettings.load()
    errors: dict[str, str] = {}
    if happened_at > now + timedelta(minutes=5):
        errors["happened_at"] = "A touchpoint cannot happen in the future."
    elif timezone.localtime(happened_at, shop.tz).date() < shop.opened_on:
        errors["happened_at"] = (
            f"That is before the shop opened ({shop.opened_on:%-d %B %Y}, in the shop settings): check the year."
        )
    if amount is not None and amount > shop.max_amount:
        errors["amount"] = f"The largest amount is {shop.max_amount:,} (in the shop settings): check the number."
    if errors:
        raise ValidationError(errors)


def _in_shop_currency(touchpoint: Touchpoint) -> bool:
    """Only amounts in the shop's currency add to lifetime spend: there is no exchange rate offline."""
    return not touchpoint.currency or touchpoint.currency == ShopSettings.load().currency


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
    currency: str = "",
    change_reason: str = "",
) -> Touchpoint:
    """Record an interaction and update the customer's figures in the same transaction.

    Products may be given by name: a missing one is added to the shop's list.
    Hooks registered by other apps (a complaint opens a follow-up, a purchase plans
    a thank-you) run inside this transaction too.
    """
    now = timezone.now()
    happened_at = happened_at or now
    touchpoint_limits_check(
        happened_at=happened_at, amount=amount if kind == Touchpoint.Kind.PURCHASE else None, now=now
    )
    if kind != Touchpoint.Kind.PURCHASE:
        amount, currency = None, ""
    currency = currency.upper()
    if currency == ShopSettings.load().currency:
        currency = ""  # blank is the shop's currency, as for purchases typed at the counter
    if kind != Touchpoint.Kind.FEEDBACK:
        feedback_kind, sentiment = "", None
    touchpoint = Touchpoint(
        customer=customer,
        logged_by=logged_by,
        kind=kind,
        happened_at=happened_at,
        note=note,
        amount=amount,
        currency=currency,
        feedback_kind=feedback_kind,
        sentiment=sentiment,
    )
    touchpoint._history_user = logged_by
    if change_reason:  # the history entry says how it came in ("via API key Till")
        touchpoint._change_reason = change_reason[:100]
    # The customer and the user are rows we were handed: no need to query that they exist. The one
    # check constraint (amount not negative) is checked here rather than by a query in a savepoint.
    touchpoint.full_clean(exclude=["customer", "logged_by"], validate_constraints=False)
    if amount is not None and amount < 0:
        raise ValidationError({"amount": "The amount cannot be negative."})
    touchpoint.save()
    chosen = products_resolve(products)
    if chosen:  # a new touchpoint has no products yet: add (one INSERT), not set (which reads them first)
        touchpoint.products.add(*chosen)
    # Its products are known: showing the new entry needs no query for them.
    touchpoint._product_names = sorted(p.name for p in chosen)
    _customer_figures_add(customer=customer, touchpoint=touchpoint, now=now)
    touchpoint_logged.send(sender=Touchpoint, touchpoint=touchpoint)
    card_changed(customer.pk, [TIMELINE, USUALLY_BUYS] if kind == Touchpoint.Kind.PURCHASE else [TIMELINE])
    return touchpoint


@transaction.atomic
def touchpoint_refund(
    *, touchpoint: Touchpoint, amount: Decimal | None, refunded_at: datetime, refunded_by: User | None = None
) -> Touchpoint:
    """Take a refund off a purchase and its customer's figures; `amount=None` refunds all of it.

    Refunds add up to at most the purchase's amount. Once all of it is refunded the purchase no
    longer counts (purchase count, first purchase), as the nightly recompute sees it too.
    """
    if touchpoint.kind != Touchpoint.Kind.PURCHASE:
        raise ValidationError("Only a purchase can be refunded.")
    if amount is not None and amount < 0:
        raise ValidationError({"amount": "A refund cannot be negative."})
    locked = Touchpoint.objects.select_for_update().get(pk=touchpoint.pk)
    total = locked.amount or Decimal(0)
    before = locked.refunded_amount or Decimal(0)
    after = total if amount is None else min(total, before + amount)
    if locked.refunded_at is not None or (after == before and locked.refunded_amount is not None):
        return locked  # already fully refunded, or nothing more to take off
    locked.refunded_amount = after
    fully = after >= total
    if fully:
        locked.refunded_at = refunded_at
    locked._history_user = refunded_by
    locked.save(update_fields=["refunded_amount", "refunded_at"])
    customer = locked.customer
    current = Customer.objects.select_for_update(no_key=True).values_list(*_LOCKED_FIELDS).get(pk=customer.pk)
    for name, value in zip(_LOCKED_FIELDS, current):
        setattr(customer, name, value)
    if _in_shop_currency(locked):
        customer.lifetime_spend = max(customer.lifetime_spend - (after - before), Decimal(0))
    if fully:
        customer.purchase_count = max(customer.purchase_count - 1, 0)
        if customer.first_purchase_at == locked.happened_at:
            customer.first_purchase_at = (
                Touchpoint.objects.filter(customer=customer, kind=Touchpoint.Kind.PURCHASE, refunded_at__isnull=True)
                .order_by("happened_at")
                .values_list("happened_at", flat=True)
                .first()
            )
    now = timezone.now()
    figures = customer_figures_compute(customer=customer, now=now)
    Customer.objects.filter(pk=customer.pk).update(
        **{name: getattr(customer, name) for name in _COUNTER_FIELDS}, **figures
    )
    card_changed(customer.pk, [TIMELINE, USUALLY_BUYS])  # the card shows the purchase as refunded
    return locked
