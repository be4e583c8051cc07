"""Writes and business rules for customers, products, tags and follow-ups."""

from collections.abc import Iterable
from datetime import date, timedelta

import phonenumbers
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from crm.models import ShopSettings
from customers.card_cache import FOLLOWUPS, IMPORTANT_DATES, card_changed
from customers.models import Customer, FollowUp, ImportantDate, Product, Tag


def phone_normalise(*, raw: str, region: str) -> str:
    """Return `raw` in E.164 (+447700900123), or raise ValidationError if it is no phone number."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        raise ValidationError({"phone": "This does not look like a phone number."})
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError({"phone": "This phone number has the wrong number of digits."})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _one_spaced(name: str) -> str:
    """A name as typed, with runs of spaces made one ("Flat  white " is "Flat white")."""
    return " ".join(name.split())


def product_get_or_create(*, name: str) -> Product:
    """Find a product by name (case-insensitive) or add it to the shop's list.

    Two workers adding the same new product at once (till purchases): the second one's INSERT
    waits on the unique index, fails, and finds the first one's row.
    """
    name = _one_spaced(name)
    product = Product.objects.filter(name__iexact=name).first()
    if product is not None:
        return product
    try:
        with transaction.atomic():
            return Product.objects.create(name=name)
    except IntegrityError:
        return Product.objects.get(name__iexact=name)


def tag_get_or_create(*, name: str) -> Tag:
    """Find a tag by name (case-insensitive) or add it."""
    name = _one_spaced(name)
    tag = Tag.objects.filter(name__iexact=name).first()
    return tag or Tag.objects.create(name=name)


def products_resolve(items: Iterable[Product | str]) -> list[Product]:
    """Products as given, each once, with names (typed by staff, sent by a till) found in one query or added
    to the shop's list."""
    items = [item for item in items if item]
    names = {_one_spaced(item).lower() for item in items if isinstance(item, str)}
    found = {}
    if names:
        rows = Product.objects.annotate(lower_name=Lower("name")).filter(lower_name__in=names)
        found = {product.lower_name: product for product in rows}
    products = {}
    for item in items:
        if isinstance(item, str):
            item = found.get(_one_spaced(item).lower()) or product_get_or_create(name=item)
        products[item.pk] = item
    return list(products.values())


def _tags_resolve(items: Iterable[Tag | str]) -> list[Tag]:
    return [item if isinstance(item, Tag) else tag_get_or_create(name=item) for item in items if item]


def _email_taken(email: str, exclude_pk: int | None) -> bool:
    others = Customer.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    return others.exists()


def _customer_validate_and_save(customer: Customer) -> None:
    customer.email = (customer.email or "").strip().lower()
    if customer.email and _email_taken(customer.email, customer.pk):
        raise ValidationError({"email": "Another customer already has this email address."})
    customer.phone = phone_normalise(raw=customer.phone, region=ShopSettings.load().phone_region)
    if customer.email_consent and not customer.consent_at:
        customer.consent_at = timezone.now()
    if not customer.email_consent:
        customer.consent_at = None
        customer.consent_method = ""
    customer.full_clean(exclude=["favourite_products", "tags"])
    customer.save()


@transaction.atomic
def customer_create(
    *,
    created_by: User | None,
    first_name: str,
    favourite_products: Iterable[Product | str] = (),
    tags: Iterable[Tag | str] = (),
    **fields,
) -> Customer:
    """Add a customer. The relationship owner defaults to whoever added them.

    Favourite products and tags may be given by name: missing ones are added to the lists.
    """
    fields.setdefault("owner", created_by)
    customer = Customer(first_name=first_name, created_by=created_by, **fields)
    customer._history_user = created_by
    _customer_validate_and_save(customer)
    customer.favourite_products.set(products_resolve(favourite_products))
    customer.tags.set(_tags_resolve(tags))
    card_changed(customer.pk)  # nothing of a new card is cached, but their birthday may be on My day
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    updated_by: User | None,
    favourite_products: Iterable[Product | str] | None = None,
    tags: Iterable[Tag | str] | None = None,
    **fields,
) -> Customer:
    """Change a customer's details; the change is recorded in its history as `updated_by`'s."""
    consent_before = (customer.email_consent, customer.consent_method)
    for name, value in fields.items():
        setattr(customer, name, value)
    if (customer.email_consent, customer.consent_method) != consent_before and customer.email_consent:
        customer.consent_at = timezone.now()  # consent (re)given now, by this method
    customer._history_user = updated_by
    _customer_validate_and_save(customer)
    if favourite_products is not None:
        customer.favourite_products.set(products_resolve(favourite_products))
    if tags is not None:
        customer.tags.set(_tags_resolve(tags))
    card_changed(customer.pk)
    return customer


@transaction.atomic
def customer_archive(*, customer: Customer, archived_by: User | None, archived: bool = True) -> Customer:
    """Archive (or bring back) a customer; nothing is deleted from the pages."""
    customer.is_archived = archived
    customer.archived_at = timezone.now() if archived else None
    customer._history_user = archived_by
    customer.save(update_fields=["is_archived", "archived_at", "updated_at"])
    card_changed(customer.pk)
    return customer


@transaction.atomic
def followup_open(
    *,
    customer: Customer,
    reason: str,
    due_date: date,
    opened_by: User | None,
    assignee: User | None = None,
    source: str = FollowUp.Source.MANUAL,
) -> FollowUp:
    """Create a to-do about a customer; it goes to the relationship owner unless told otherwise."""
    followup = FollowUp(
        customer=customer,
        reason=reason,
        due_date=due_date,
        assignee=assignee or customer.owner or opened_by,
        created_by=opened_by,
        source=source,
    )
    followup._history_user = opened_by
    followup.full_clean()
    followup.save()
    card_changed(followup.customer_id, [FOLLOWUPS])
    return followup


def _followup_close(*, followup: FollowUp, by: User | None, status: str) -> FollowUp:
    if not followup.is_open:
        raise ValidationError("This follow-up is already closed.")
    followup.status = status
    followup.closed_at = timezone.now()
    followup.closed_by = by
    followup._history_user = by
    followup.save(update_fields=["status", "closed_at", "closed_by"])
    card_changed(followup.customer_id, [FOLLOWUPS])
    return followup


@transaction.atomic
def followup_done(*, followup: FollowUp, done_by: User | None) -> FollowUp:
    """Tick a follow-up off."""
    return _followup_close(followup=followup, by=done_by, status=FollowUp.Status.DONE)


@transaction.atomic
def followup_cancel(*, followup: FollowUp, cancelled_by: User | None) -> FollowUp:
    """Drop a follow-up that no longer needs doing."""
    return _followup_close(followup=followup, by=cancelled_by, status=FollowUp.Status.CANCELLED)


@transaction.atomic
def followup_snooze(*, followup: FollowUp, snoozed_by: User | None, days: int, today: date) -> FollowUp:
    """Push a follow-up `days` days past today (or past its due date if that is later)."""
    if not followup.is_open:
        raise ValidationError("This follow-up is already closed.")
    if not 1 <= days <= 366:
        raise ValidationError("Snooze for between 1 and 366 days.")
    followup.due_date = max(today, followup.due_date) + timedelta(days=days)
    followup.status = FollowUp.Status.SNOOZED
    followup._history_user = snoozed_by
    followup.save(update_fields=["due_date", "status"])
    card_changed(followup.customer_id, [FOLLOWUPS])
    return followup


@transaction.atomic
def important_date_add(
    *, customer: Customer, added_by: User | None, label: str, day: int, month: int, year: int | None = None
) -> ImportantDate:
    """Remember an anniversary or a child's birthday; 29 February is fine, 30 February is not."""
    important = ImportantDate(customer=customer, label=label.strip(), date_day=day, date_month=month, date_year=year)
    important._history_user = added_by
    important.full_clean()
    important.save()
    card_changed(customer.pk, [IMPORTANT_DATES])
    return important


@transaction.atomic
def important_date_remove(*, important_date: ImportantDate, removed_by: User | None) -> None:
    """Forget an important date (its history keeps who removed it)."""
    important_date._history_user = removed_by
    important_date.delete()
    card_changed(important_date.customer_id, [IMPORTANT_DATES])
