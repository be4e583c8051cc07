"""Issuing and redeeming gift codes.

Codes are 8 characters from CODE_ALPHABET (no 0/O/1/I), drawn with `secrets`, so
they cannot be guessed and can be read aloud. What staff type at the counter is
normalised by `gift_code_normalise` (see its docstring for the rules).
"""

import secrets
import unicodedata
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats, timezone

from crm.clock import shop_today
from crm.models import ShopSettings
from crm.money import money_format
from customers.card_cache import TIMELINE, card_changed
from customers.models import Customer, Product
from gifts.models import CODE_ALPHABET, CODE_LENGTH, GiftCode
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log

GIFTS_PANEL = "gifts"  # the card panel's name (GiftsConfig.ready)

# Characters people type that can never be part of a code, for a precise message.
LOOKALIKES = "0O1I"
ISSUE_ATTEMPTS = 5


def gift_code_generate() -> str:
    """A fresh random code: 8 characters from CODE_ALPHABET, drawn with `secrets` (unguessable)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def gift_code_format(code: str) -> str:
    """How a code is shown and read aloud: two groups of four, `ABCD-EFGH`."""
    if len(code) == CODE_LENGTH:
        return f"{code[:4]}-{code[4:]}"
    return code


def gift_code_normalise(raw: str) -> str:
    """Turn what staff typed or pasted into a stored code, or raise ValidationError(code="format").

    Rules: Unicode compatibility forms are folded (full-width letters, odd dashes),
    case is ignored, and anything that is not a letter or digit (spaces, dashes, dots)
    is dropped, so "abcd efgh", "ABCD-EFGH" and " abcd–efgh " all match ABCDEFGH.
    0, O, 1 and I are never in a code and we do NOT guess what was meant (a 0 could be
    a D or a Q read aloud): they get a message saying codes never contain them.
    """
    text = unicodedata.normalize("NFKC", raw or "").upper()
    code = "".join(ch for ch in text if ch.isalnum())
    if not code:
        raise ValidationError("Type or paste a gift code.", code="format")
    bad = sorted({ch for ch in code if ch in LOOKALIKES})
    if bad:
        raise ValidationError(
            "Gift codes never contain 0, O, 1 or I (you typed %(bad)s). Check the code with the customer.",
            code="format",
            params={"bad": ", ".join(bad)},
        )
    if any(ch not in CODE_ALPHABET for ch in code):
        raise ValidationError("A gift code has only letters and the digits 2 to 9.", code="format")
    if len(code) != CODE_LENGTH:
        raise ValidationError(
            "A gift code has %(n)d characters; you typed %(got)d.",
            code="format",
            params={"n": CODE_LENGTH, "got": len(code)},
        )
    return code


def gift_code_value_display(gift: GiftCode, *, currency: str | None = None) -> str:
    """What the code is worth in words: "10% off", "£5 off" (shop currency), "a free Flat white".

    Pass `currency` when rendering many codes to avoid loading the shop settings each time.
    """
    if gift.kind == GiftCode.Kind.FREE_PRODUCT:
        return f"a free {gift.product.name}" if gift.product is not None else "a free product"
    if gift.value is None:
        return ""
    if gift.kind == GiftCode.Kind.PERCENT_OFF:
        value = gift.value.normalize()
        return f"{value:f}% off"
    return f"{money_format(gift.value, currency or ShopSettings.load().currency, whole=True)} off"


@transaction.atomic
def gift_code_issue(
    *,
    customer: Customer,
    kind: str,
    value: Decimal | int | None,
    expires_on: date,
    source: str,
    issued_by: User | None = None,
    product: Product | None = None,
) -> GiftCode:
    """Give a customer a new gift code; retries with a fresh code on the (rare) unique collision.

    Percent codes take 1–100, amount codes a positive amount, free-product codes a product
    (their value is ignored). The expiry is the last day it can be used, in the shop's zone.
    """
    if customer.erased_at is not None:
        raise ValidationError("This customer's details were erased on request: no new gift codes.", code="erased")
    if kind == GiftCode.Kind.FREE_PRODUCT:
        value = None
    else:
        product = None
        value = Decimal(value) if value is not None else None
    gift = GiftCode(
        customer=customer,
        kind=kind,
        value=value,
        product=product,
        expires_on=expires_on,
        source=source or "manual",
        issued_by=issued_by,
    )
    gift._history_user = issued_by
    for attempt in range(ISSUE_ATTEMPTS):
        gift.code = gift_code_generate()
        # The unique index is the real guard; the savepoint lets us try again after a collision.
        gift.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                gift.save()
            card_changed(customer.pk, [TIMELINE, GIFTS_PANEL])
            return gift
        except IntegrityError:
            if attempt == ISSUE_ATTEMPTS - 1:
                raise
            gift.pk = None
    raise AssertionError("unreachable")


def _shop_datetime(value, tz) -> str:
    return formats.date_format(value.astimezone(tz), "j F Y \\a\\t H:i")


def _user_name(user: User | None) -> str:
    if user is None:
        return "someone no longer on the staff list"
    return user.get_full_name() or user.get_username()


def gift_code_check(gift: GiftCode, *, now=None) -> None:
    """Raise ValidationError (code "redeemed" or "expired") if this code cannot be redeemed now."""
    shop = ShopSettings.load()
    now = now or timezone.now()
    shown = gift_code_format(gift.code)
    if gift.redeemed_at is not None:
        raise ValidationError(
            "Code %(code)s was already redeemed on %(when)s by %(who)s.",
            code="redeemed",
            params={
                "code": shown,
                "when": _shop_datetime(gift.redeemed_at, shop.tz),
                "who": _user_name(gift.redeemed_by),
            },
        )
    if shop_today(now, shop.tz) > gift.expires_on:
        raise ValidationError(
            "Code %(code)s has expired: its last day was %(day)s.",
            code="expired",
            params={"code": shown, "day": formats.date_format(gift.expires_on, "l j F Y")},
        )


def gift_code_lookup(raw: str) -> GiftCode:
    """Find the code staff typed (normalised), or raise ValidationError (code "format" or "unknown")."""
    code = gift_code_normalise(raw)
    gift = GiftCode.objects.select_related("customer", "product", "redeemed_by").filter(code=code).first()
    if gift is None:
        raise ValidationError(
            "There is no gift code %(code)s. Check the letters with the customer.",
            code="unknown",
            params={"code": gift_code_format(code)},
        )
    return gift


@transaction.atomic
def gift_code_redeem(*, code: str, redeemed_by: User) -> GiftCode:
    """Redeem a code at the counter and log a "gift given" touchpoint, in one transaction.

    The row is locked (select_for_update) so two tills redeeming the same code at once
    get exactly one success; the conditional UPDATE guards SQLite, which ignores the lock.
    An unknown, already redeemed or expired code raises ValidationError and changes nothing.
    """
    normalised = gift_code_normalise(code)
    gift = GiftCode.objects.select_for_update().filter(code=normalised).first()
    if gift is None:
        raise ValidationError(
            "There is no gift code %(code)s. Check the letters with the customer.",
            code="unknown",
            params={"code": gift_code_format(normalised)},
        )
    now = timezone.now()
    gift_code_check(gift, now=now)
    claimed = GiftCode.objects.filter(pk=gift.pk, redeemed_at__isnull=True).update(
        redeemed_at=now, redeemed_by=redeemed_by
    )
    if claimed != 1:  # another till got there first (only reachable where the lock is ignored)
        gift.refresh_from_db()
        gift_code_check(gift, now=now)
    gift.redeemed_at, gift.redeemed_by = now, redeemed_by
    gift._history_user = redeemed_by
    gift.save(update_fields=["redeemed_at", "redeemed_by"])  # records the history row
    worth = gift_code_value_display(gift)
    touchpoint_log(
        customer=gift.customer,
        logged_by=redeemed_by,
        kind=Touchpoint.Kind.GIFT,
        happened_at=now,
        note=f"Redeemed gift code {gift_code_format(gift.code)}: {worth}.",
    )
    card_changed(gift.customer_id, [TIMELINE, GIFTS_PANEL])
    return gift
