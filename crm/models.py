import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone.")


def validate_phone_region(value: str) -> None:
    import phonenumbers

    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"“{value}” is not a known phone region (two letters, like GB or US).")


class ShopSettings(models.Model):
    """The one row of shop-wide settings; read it with ShopSettings.load()."""

    name = models.CharField(max_length=120, default="Our Shop")
    postal_address = models.TextField(blank=True, help_text="Shown in the footer of every email.")
    time_zone = models.CharField(max_length=64, default="Europe/London", validators=[validate_time_zone])
    currency = models.CharField(max_length=3, default="GBP", help_text="ISO 4217 code, like GBP, EUR or USD.")
    phone_region = models.CharField(
        max_length=2, default="GB", validators=[validate_phone_region],
        help_text="Region for phone numbers typed without a country code.",
    )
    default_cadence_days = models.PositiveIntegerField(
        default=60, help_text="Keep-in-touch cadence for customers who have none of their own."
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = verbose_name_plural = "shop settings"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def load(cls) -> "ShopSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)
