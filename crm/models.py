import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
)
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from crm.validators import (
    AMOUNT_CEILING,
    CADENCE_MAX_DAYS,
    CADENCE_MIN_DAYS,
    YEAR_MIN,
    cadence_validators,
    validate_single_line,
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone.")


def validate_phone_region(value: str) -> None:
    import phonenumbers

    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"“{value}” is not a known phone region (two letters, like GB or US).")


class HistoryNotes:
    """What django-simple-history reads off an instance as it saves it: who changed it, and why.

    Services set them before save(); declared here so the type checker knows them (no columns).
    """

    _history_user: "AbstractBaseUser | None"
    _change_reason: str | None


# The row read for the request being served (crm.middleware): services that ask for the settings
# again during the request (figures, gifts, automations) get it without another query.
_request_shop: ContextVar["ShopSettings | None"] = ContextVar("request_shop", default=None)


class ShopSettings(HistoryNotes, models.Model):
    """The one row of shop-wide settings; read it with ShopSettings.load()."""

    name = models.CharField(max_length=120, default="Our Shop", validators=[validate_single_line])
    postal_address = models.TextField(
        blank=True, validators=[MaxLengthValidator(500)], help_text="Shown in the footer of every email."
    )
    time_zone = models.CharField(max_length=64, default="Europe/London", validators=[validate_time_zone])
    currency = models.CharField(max_length=3, default="GBP", help_text="ISO 4217 code, like GBP, EUR or USD.")
    phone_region = models.CharField(
        max_length=2,
        default="GB",
        validators=[validate_phone_region],
        help_text="Region for phone numbers typed without a country code.",
    )
    default_cadence_days = models.PositiveIntegerField(
        default=60,
        help_text="Keep-in-touch cadence for customers who have none of their own.",
        validators=cadence_validators(),
    )
    opened_on = models.DateField(
        default=date(2000, 1, 1),
        validators=[MinValueValidator(date(YEAR_MIN, 1, 1))],
        verbose_name="shop opened on",
        help_text="No touchpoint can be dated before this day.",
    )
    max_amount = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal(10_000),
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(Decimal(AMOUNT_CEILING))],
        verbose_name="largest amount",
        help_text="The largest purchase or gift amount staff can type.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = verbose_name_plural = "shop settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(default_cadence_days__gte=CADENCE_MIN_DAYS, default_cadence_days__lte=CADENCE_MAX_DAYS),
                name="shop_default_cadence_range",
            ),
            models.CheckConstraint(condition=Q(max_amount__gte=1), name="shop_max_amount_positive"),
            models.CheckConstraint(condition=Q(opened_on__gte=date(YEAR_MIN, 1, 1)), name="shop_opened_from_1900"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def load(cls) -> "ShopSettings":
        shop = _request_shop.get()
        if shop is None:
            shop, _ = cls.objects.get_or_create(pk=1)
        return shop

    @classmethod
    @contextmanager
    def for_request(cls) -> Iterator["ShopSettings"]:
        """Read the settings once and let load() answer with that row until the request is served."""
        token = _request_shop.set(None)
        try:
            shop = cls.load()
            _request_shop.set(shop)
            yield shop
        finally:
            _request_shop.reset(token)

    def serve_rest_of_request(self) -> None:
        """After a change, the rest of this request (if any) sees the saved row."""
        if _request_shop.get() is not None:
            _request_shop.set(self)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)
