from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from crm.models import HistoryNotes, ShopSettings
from customers.models import Customer, Product

# Easy to read aloud: no 0/O, 1/I.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class GiftCode(HistoryNotes, models.Model):
    class Kind(models.TextChoices):
        PERCENT_OFF = "percent", "Percent off"
        AMOUNT_OFF = "amount", "Amount off"
        FREE_PRODUCT = "product", "Free product"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="gift_codes")
    # Codes are drawn by gifts.services; the admin, which could type one, is held to the same shape
    # (a code is put into emails as {gift_code}).
    code = models.CharField(
        max_length=CODE_LENGTH,
        unique=True,
        validators=[
            RegexValidator(
                f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$",
                f"A gift code is {CODE_LENGTH} capital letters and digits, without 0, O, 1 or I.",
            )
        ],
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT_OFF)
    value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL)
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_on = models.DateField(help_text="Last day it can be used, in the shop's time zone.")
    source = models.CharField(max_length=40, default="manual", help_text="“manual” or the automation's kind.")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["expires_on", "redeemed_at"], name="giftcode_expiry_idx")]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.kind == self.Kind.PERCENT_OFF:
            if self.value is None or not Decimal(0) < self.value <= Decimal(100):
                raise ValidationError({"value": "A percentage off must be more than 0 and at most 100."})
        elif self.kind == self.Kind.AMOUNT_OFF:
            if self.value is None or self.value <= 0:
                raise ValidationError({"value": "An amount off must be more than 0."})
            largest = ShopSettings.load().max_amount
            if self.value > largest:
                raise ValidationError(
                    {
                        "value": f"An amount off can be at most {largest:,} "
                        "(the shop's largest amount, in the shop settings)."
                    }
                )
        elif self.kind == self.Kind.FREE_PRODUCT and not self.product_id:
            raise ValidationError({"product": "Choose the product they get for free."})

    @property
    def display_code(self) -> str:
        """Two groups of four, easier to read aloud: ABCD-EFGH."""
        return f"{self.code[:4]}-{self.code[4:]}" if len(self.code) == CODE_LENGTH else self.code

    def status_on(self, today: date) -> str:
        """ "redeemed", "expired" or "active" on `today` (a date in the shop's time zone)."""
        if self.redeemed_at is not None:
            return "redeemed"
        return "expired" if today > self.expires_on else "active"
