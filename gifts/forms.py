from datetime import date, timedelta
from decimal import Decimal

from django import forms

from customers.models import Product
from gifts.models import GiftCode


class RedeemForm(forms.Form):
    """One box at the counter; the service normalises and checks what was typed."""

    code = forms.CharField(
        label="Gift code",
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "ABCD-EFGH",
                "class": "form-control form-control-lg font-monospace text-uppercase",
            }
        ),
    )


class IssueForm(forms.Form):
    """Issue a gift by hand: what it is worth, and until when (N days or a date)."""

    # A required <select> must start with an empty placeholder option (HTML spec); the initial stays chosen.
    kind = forms.ChoiceField(
        label="Kind", choices=[("", "Choose a kind"), *GiftCode.Kind.choices], initial=GiftCode.Kind.PERCENT_OFF
    )
    value = forms.DecimalField(
        label="Value",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=10,
        decimal_places=2,
        help_text="Percent or amount; not needed for a free product.",
    )
    product = forms.ModelChoiceField(
        label="Free product",
        queryset=Product.objects.filter(is_active=True),
        required=False,
        empty_label="Choose a product",
    )
    valid_days = forms.IntegerField(label="Valid for (days)", min_value=1, max_value=3650, initial=30, required=False)
    expires_on = forms.DateField(
        label="…or until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Last day it can be used.",
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        for name, field in self.fields.items():
            css = "form-select form-select-sm" if name in ("kind", "product") else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)
        self.fields["value"].widget.attrs.update({"inputmode": "decimal", "step": "0.01"})
        self.fields["expires_on"].widget.attrs["min"] = today.isoformat()

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
                widget.attrs["aria-invalid"] = "true"

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        if kind == GiftCode.Kind.FREE_PRODUCT:
            if not data.get("product"):
                self.add_error("product", "Choose the product they get for free.")
            data["value"] = None
        elif kind and data.get("value") is None and "value" not in self.errors:
            self.add_error("value", "Give the percentage or amount off.")
        elif kind == GiftCode.Kind.PERCENT_OFF and data.get("value") is not None and data["value"] > 100:
            self.add_error("value", "A percentage off can be at most 100.")
        if kind != GiftCode.Kind.FREE_PRODUCT:
            data["product"] = None
        if data.get("expires_on"):
            if data["expires_on"] < self.today:
                self.add_error("expires_on", "The last day cannot be in the past.")
        elif data.get("valid_days"):
            data["expires_on"] = self.today + timedelta(days=data["valid_days"])
        elif "valid_days" not in self.errors:
            self.add_error("valid_days", "Say for how many days it is valid, or pick a last day.")
        return data
