from typing import cast

from django import forms

from automations.models import Automation
from automations.services import template_errors
from crm.validators import TEXT_MAX_LENGTH, validate_header_line

# Which of the owner's numbers each automation uses, and what they mean for it.
FIELDS_BY_KIND: dict[str, list[str]] = {
    "thankyou": ["enabled", "review_before_sending", "days"],
    "birthday": [
        "enabled",
        "review_before_sending",
        "days",
        "code_kind",
        "code_value",
        "code_valid_days",
        "leap_day_on_march_1",
    ],
    "gift_expiry": ["enabled", "review_before_sending", "days"],
    "wemissyou": ["enabled", "review_before_sending"],
    "loyalty": ["enabled", "review_before_sending", "every_k", "code_kind", "code_value", "code_valid_days"],
    "referral": ["enabled", "review_before_sending", "with_code", "code_kind", "code_value", "code_valid_days"],
    "make_it_right": ["enabled"],
    "digest": ["enabled"],
}
DAYS_LABELS = {
    "thankyou": "Days after the purchase",
    "birthday": "Days before the birthday",
    "gift_expiry": "Days before the code expires",
}
DESCRIPTIONS = {
    "thankyou": "A thank-you note a few days after a purchase, naming what they bought. At most one per customer in 14 days.",
    "birthday": "A birthday greeting a few days before, with a new personal gift code.",
    "gift_expiry": "A reminder before an unused gift code expires.",
    "wemissyou": "A “we miss you” note once, when the days since they were last in touch pass their "
    "keep-in-touch cadence (or the shop's default). Any touchpoint resets the clock.",
    "loyalty": "A gift code and a thank-you on every Kth purchase.",
    "referral": "A thank-you to the customer who referred a friend, when that friend makes a first purchase.",
    "make_it_right": "A complaint creates a follow-up for the customer's relationship owner, due the next working day. No email.",
    "digest": "An email to each staff member at 08:00: their follow-ups due, birthdays this week, customers drifting away.",
}


class AutomationForm(forms.ModelForm):
    class Meta:
        model = Automation
        fields = [
            "enabled",
            "review_before_sending",
            "days",
            "code_kind",
            "code_value",
            "code_valid_days",
            "every_k",
            "with_code",
            "leap_day_on_march_1",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kind = self.instance.kind
        for name in list(self.fields):
            if name not in FIELDS_BY_KIND.get(kind, []):
                del self.fields[name]
        if "days" in self.fields:
            self.fields["days"].label = DAYS_LABELS.get(kind, "Days")
            cast(forms.IntegerField, self.fields["days"]).min_value = 0
            self.fields["days"].widget.attrs.update(min=0, max=365)
        if "every_k" in self.fields:
            self.fields["every_k"].widget.attrs.update(min=1)
        if "code_value" in self.fields:
            self.fields["code_value"].label = "Gift code value (percent or amount)"
        self.fields["enabled"].label = "On"

    def clean_days(self):
        days = self.cleaned_data["days"]
        if days is not None and days > 365:
            raise forms.ValidationError("Choose at most 365 days.")
        return days

    def clean_every_k(self):
        k = self.cleaned_data["every_k"]
        if k is not None and k < 1:
            raise forms.ValidationError("Choose 1 or more.")
        return k

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("code_kind") == "percent" and data.get("code_value") and data["code_value"] > 100:
            self.add_error("code_value", "A percentage off can be at most 100.")
        if "code_value" in self.fields and data.get("code_value") is not None and data["code_value"] <= 0:
            self.add_error("code_value", "Give a value above 0.")
        if data.get("code_kind") == "amount" and data.get("code_value") is not None:
            from crm.models import ShopSettings

            largest = ShopSettings.load().max_amount
            if data["code_value"] > largest:
                self.add_error("code_value", f"An amount off can be at most {largest:,} (the shop's largest amount).")
        return data


class TemplateForm(forms.Form):
    subject = forms.CharField(max_length=200, validators=[validate_header_line])
    body_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 9}), label="Text", max_length=TEXT_MAX_LENGTH)
    body_html = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        label="HTML (optional)",
        max_length=TEXT_MAX_LENGTH,
        help_text="Leave empty and the HTML version is made from the text.",
    )

    def __init__(self, *args, kind: str, **kwargs):
        self.kind = kind
        super().__init__(*args, **kwargs)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if not self.errors:
            for error in template_errors(
                kind=self.kind,
                subject=data["subject"],
                body_text=data["body_text"],
                body_html=data.get("body_html", ""),
            ):
                self.add_error(None, error)
        return data


class ApproveForm(forms.Form):
    personal_line = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Personal line",
        help_text="A sentence of your own, added to the email.",
    )


class ResendUnknownForm(forms.Form):
    """The owner confirms, knowingly, that a message which may have arrived goes out again."""

    confirm = forms.BooleanField(
        required=True,
        label="I understand this customer may get the message twice.",
        error_messages={"required": "Tick the box to confirm: this message may already have arrived."},
    )
