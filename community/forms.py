import calendar
from datetime import date
from typing import cast

from django import forms
from django.contrib.auth.models import User
from django.core.validators import MaxValueValidator

from community.models import Event, Newsletter, Segment
from crm.forms import BoundedModelMultipleChoiceField
from crm.validators import YEAR_MIN, validate_single_line
from customers.models import Customer, Product, Tag

MONTHS = [(m, calendar.month_name[m]) for m in range(1, 13)]
CONSENT_CHOICES = [("", "Anyone"), ("yes", "Agreed to email"), ("no", "Not agreed to email (or no address)")]


class SegmentForm(forms.Form):
    """A named filter; each filter left empty does not narrow the segment."""

    name = forms.CharField(max_length=100, help_text="For example “Wine lovers” or “Cooling regulars”.")
    tags = BoundedModelMultipleChoiceField(
        Tag.objects.all(), required=False, widget=forms.CheckboxSelectMultiple, help_text="Any of these tags."
    )
    health = forms.MultipleChoiceField(
        choices=Customer.Health.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    stage = forms.MultipleChoiceField(
        choices=Customer.Stage.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    birthday_months = forms.TypedMultipleChoiceField(
        choices=MONTHS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label="Birthday in"
    )
    favourite_products = BoundedModelMultipleChoiceField(
        Product.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Any of these favourites.",
    )
    last_touchpoint_from = forms.DateField(
        required=False, label="Last seen from", widget=forms.DateInput(attrs={"type": "date"})
    )
    last_touchpoint_to = forms.DateField(
        required=False, label="Last seen until", widget=forms.DateInput(attrs={"type": "date"})
    )
    min_purchases = forms.IntegerField(required=False, min_value=0, label="At least this many purchases")
    min_spend = forms.DecimalField(required=False, min_value=0, decimal_places=2, label="Spent at least")
    owners = BoundedModelMultipleChoiceField(
        User.objects.filter(is_active=True).order_by("first_name", "username"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Relationship owner",
    )
    consent = forms.ChoiceField(choices=CONSENT_CHOICES, required=False, label="Email consent")

    def __init__(self, *args, require_name: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        owners = cast(forms.ModelMultipleChoiceField, self.fields["owners"])
        owners.label_from_instance = lambda u: u.get_full_name() or u.username  # type: ignore[assignment]  # a label per instance, as Django documents
        self.fields["name"].required = require_name

    def clean(self):
        super().clean()
        data = self.cleaned_data
        start, end = data.get("last_touchpoint_from"), data.get("last_touchpoint_to")
        if start and end and end < start:
            self.add_error("last_touchpoint_to", "This date is before the “from” date.")
        return data

    def filters(self) -> dict:
        """The cleaned filter as JSON-friendly values (ids, ISO dates, strings)."""
        d = self.cleaned_data
        out: dict = {}
        for key in ("tags", "favourite_products", "owners"):
            if d.get(key):
                out[key] = sorted(obj.pk for obj in d[key])
        for key in ("health", "stage"):
            if d.get(key):
                out[key] = list(d[key])
        if d.get("birthday_months"):
            out["birthday_months"] = sorted(d["birthday_months"])
        for key in ("last_touchpoint_from", "last_touchpoint_to"):
            if d.get(key):
                out[key] = d[key].isoformat()
        if d.get("min_purchases") is not None:
            out["min_purchases"] = d["min_purchases"]
        if d.get("min_spend") is not None:
            out["min_spend"] = str(d["min_spend"])
        if d.get("consent"):
            out["consent"] = d["consent"]
        return out

    @classmethod
    def initial_for(cls, segment: Segment) -> dict:
        initial = {"name": segment.name, **segment.filters}
        for key in ("last_touchpoint_from", "last_touchpoint_to"):
            if initial.get(key):
                try:
                    initial[key] = date.fromisoformat(initial[key])
                except ValueError:
                    initial.pop(key)
        return initial


class NewsletterForm(forms.ModelForm):
    class Meta:
        model = Newsletter
        fields = ["subject", "segment", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}
        help_texts = {
            "body": "Markdown: **bold**, *italic*, [a link](https://…), lists with “- ”. "
            "Placeholders: {preferred_name}, {favourite_product}, {shop_name}.",
        }
        labels = {"segment": "Send to"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].required = True
        cast(forms.ModelChoiceField, self.fields["segment"]).empty_label = "Pick a segment…"


class NewsletterSendForm(forms.Form):
    when = forms.ChoiceField(
        choices=[("now", "Send now"), ("later", "Send at a chosen time")], widget=forms.RadioSelect, initial="now"
    )
    send_at = forms.DateTimeField(
        required=False, label="Date and time (shop time)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("when") == "later" and not data.get("send_at") and "send_at" not in self.errors:
            self.add_error("send_at", "Pick the date and time to send it.")
        return data


class PreviewForm(forms.Form):
    customer = forms.ModelChoiceField(Customer.objects.none(), required=False, label="Preview for")

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        customer = cast(forms.ModelChoiceField, self.fields["customer"])
        customer.queryset = members if members is not None else Customer.objects.none()
        customer.empty_label = None


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = ["title", "description", "starts_at", "ends_at", "place", "capacity", "max_guests"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }
        labels = {"starts_at": "Starts (shop time)", "ends_at": "Ends (shop time)"}


class InviteForm(forms.Form):
    segment = forms.ModelChoiceField(
        Segment.objects.all(),
        label="Invite",
        empty_label="Pick a segment…",
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class RsvpForm(forms.Form):
    coming = forms.TypedChoiceField(
        choices=[("yes", "Yes, I'll come"), ("no", "No, I can't come")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        label="Will you come?",
    )
    guests = forms.IntegerField(min_value=0, initial=0, required=False, label="Guests I'm bringing")

    def __init__(self, *args, max_guests: int = 3, **kwargs):
        super().__init__(*args, **kwargs)
        guests = cast(forms.IntegerField, self.fields["guests"])
        guests.max_value = max_guests
        guests.widget.attrs.update({"min": 0, "max": max_guests, "inputmode": "numeric"})
        guests.validators.append(MaxValueValidator(max_guests))


class ProfileForm(forms.Form):
    """The customer's own details. Only the fields present in the POST are changed (see `sent`)."""

    preferred_name = forms.CharField(
        max_length=100, required=False, label="What should we call you?", validators=[validate_single_line]
    )
    birthday_day = forms.TypedChoiceField(
        choices=[("", "Day"), *((d, d) for d in range(1, 32))],
        coerce=int,
        empty_value=None,
        required=False,
        label="Day",
    )
    birthday_month = forms.TypedChoiceField(
        choices=[("", "Month"), *MONTHS], coerce=int, empty_value=None, required=False, label="Month"
    )
    birthday_year = forms.IntegerField(required=False, min_value=YEAR_MIN, max_value=9999, label="Year (optional)")
    favourite_products = BoundedModelMultipleChoiceField(
        Product.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Your favourites",
    )
    email = forms.EmailField(
        required=False,
        max_length=254,
        label="Your email address",
        help_text="A new address is changed once you confirm it from that inbox.",
    )
    email_consent = forms.TypedChoiceField(
        choices=[("yes", "Yes, send me the occasional email"), ("no", "No emails, thank you")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        required=False,
        empty_value=None,
        label="Emails from us",
        help_text="A change here is confirmed through a link we email you.",
    )
    # Checkbox groups send nothing when every box is unticked: the page says the group was shown.
    shown = forms.MultipleChoiceField(
        choices=[("favourite_products", "")], required=False, widget=forms.MultipleHiddenInput
    )

    def sent(self) -> dict:
        """The cleaned values of the fields the customer actually sent (an empty POST sends none)."""
        names = {name for name in self.fields if name in self.data and name != "shown"}
        names |= set(self.cleaned_data.get("shown") or [])
        changes = {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}
        if changes.get("email_consent") is None:
            changes.pop("email_consent", None)
        if not changes.get("email"):
            changes.pop("email", None)  # the address is changed, never removed, through this page
        return changes


class ProfileLinkRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Your email address")
