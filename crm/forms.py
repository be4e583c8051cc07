import zoneinfo

from django import forms

from crm.models import ShopSettings

CURRENCIES = ["GBP", "EUR", "USD", "AUD", "CAD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "JPY", "INR", "ZAR"]


class ShopSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=[(z, z.replace("_", " ")) for z in sorted(zoneinfo.available_timezones())
                                           if "/" in z and not z.startswith(("Etc/", "SystemV/"))] + [("UTC", "UTC")])
    currency = forms.ChoiceField(choices=[(c, c) for c in CURRENCIES])

    class Meta:
        model = ShopSettings
        fields = ["name", "postal_address", "time_zone", "currency", "phone_region", "default_cadence_days"]
        widgets = {"postal_address": forms.Textarea(attrs={"rows": 3})}
        labels = {"default_cadence_days": "Default keep-in-touch cadence (days)", "phone_region": "Phone region"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.currency
        if current and current not in CURRENCIES:
            self.fields["currency"].choices.append((current, current))
        self.fields["phone_region"].widget.attrs.update({"maxlength": 2, "class": "text-uppercase"})

    def clean_phone_region(self) -> str:
        return self.cleaned_data["phone_region"].upper()

    def clean_default_cadence_days(self) -> int:
        days = self.cleaned_data["default_cadence_days"]
        if not 1 <= days <= 730:
            raise forms.ValidationError("Give a number of days between 1 and 730.")
        return days
