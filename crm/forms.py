"""Form helpers every app may use (crm sits above all the other apps), and the shop settings form."""

import zoneinfo
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError

from crm.models import ShopSettings


def form_add_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError onto the form: by field where the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


NULL_BYTE_MESSAGE = "This contains a null character (\\x00), which cannot be saved. Remove it and try again."

# The mixin is only ever put before a form class: mypy checks it as one, while at run time it stays a plain mixin.
if TYPE_CHECKING:
    _FormBase = forms.BaseForm
else:
    _FormBase = object


class RejectNullBytesMixin(_FormBase):
    """Refuse a NUL byte in any submitted field, with a message next to that field.

    PostgreSQL cannot store NUL in text and raises a 500 if one reaches a query.
    Django's CharField already refuses it, but fields that turn text into something
    else (a list of tag names, a model choice) skip that check. Put this mixin first:
    `class CustomerForm(RejectNullBytesMixin, forms.ModelForm)`.
    """

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        for name, field in self.fields.items():
            raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            values = raw if isinstance(raw, (list, tuple)) else [raw]
            if any(isinstance(v, str) and "\x00" in v for v in values) and name not in self.errors:
                self.add_error(name, NULL_BYTE_MESSAGE)
        return cleaned


CURRENCIES = ["GBP", "EUR", "USD", "AUD", "CAD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "JPY", "INR", "ZAR"]


class ShopSettingsForm(RejectNullBytesMixin, forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[
            (z, z.replace("_", " "))
            for z in sorted(zoneinfo.available_timezones())
            if "/" in z and not z.startswith(("Etc/", "SystemV/"))
        ]
        + [("UTC", "UTC")]
    )
    currency = forms.ChoiceField(choices=[(c, c) for c in CURRENCIES])

    class Meta:
        model = ShopSettings
        fields = [
            "name",
            "postal_address",
            "time_zone",
            "currency",
            "phone_region",
            "default_cadence_days",
            "opened_on",
            "max_amount",
        ]
        widgets = {
            "postal_address": forms.Textarea(attrs={"rows": 3}),
            # A date box reads only YYYY-MM-DD, whatever the language's date format.
            "opened_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        labels = {"default_cadence_days": "Default keep-in-touch cadence (days)", "phone_region": "Phone region"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.currency
        if current and current not in CURRENCIES:
            currency = self.fields["currency"]
            assert isinstance(currency, forms.ChoiceField)  # declared above
            # Given a list, Django keeps the choices as a list; the stubs type them as any iterable.
            cast(list, currency.choices).append((current, current))
        self.fields["phone_region"].widget.attrs.update({"maxlength": 2, "class": "text-uppercase"})

    def clean_phone_region(self) -> str:
        return self.cleaned_data["phone_region"].upper()

    def clean_opened_on(self):
        from django.utils import timezone

        opened_on = self.cleaned_data["opened_on"]
        if opened_on and opened_on > timezone.localdate():
            raise forms.ValidationError("Give a day that has already come.")
        return opened_on


# The largest primary key a BigAutoField holds: a bigger one is no row, and SQLite cannot even compare it.
_PK_MAX = 2**63 - 1


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A multiple choice of rows that refuses a number no row can have before asking the database.

    Django checks `pk__in=[…]` as given; on SQLite a value past 2**63 raises OverflowError (a 500).
    """

    def _check_values(self, value):
        for pk in value:
            text = str(pk).strip()
            if not text.isdecimal() or not 0 < int(text) <= _PK_MAX:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": text[:20]}
                )
        return super()._check_values(value)  # type: ignore[misc]  # a private Django method django-stubs leaves out
