from datetime import timedelta

from django import forms
from django.utils import timezone

from crm.forms import RejectNullBytesMixin
from customers.forms import NamesField
from touchpoints.models import KIND_ICONS, Touchpoint

# An email reply is logged by Rapport itself when the customer answers (the mailevents app).
HAND_LOGGED_KINDS = [(value, label) for value, label in Touchpoint.Kind.choices if value != Touchpoint.Kind.REPLY]


class TouchpointForm(RejectNullBytesMixin, forms.Form):
    """One short form for every kind; purchase and feedback fields only count for their kind."""

    kind = forms.ChoiceField(choices=HAND_LOGGED_KINDS, widget=forms.RadioSelect, initial=Touchpoint.Kind.VISIT)
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "A note (optional) — Enter to save", "autocomplete": "off"}),
    )
    happened_at = forms.DateTimeField(
        required=False,
        label="When",
        help_text="Leave empty for now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    amount = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=10,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "placeholder": "0.00"}),
    )
    products = NamesField(datalist="tp-product-names", label="Products")
    feedback_kind = forms.ChoiceField(
        choices=[("", "—")] + list(Touchpoint.FeedbackKind.choices), required=False, label="Feedback"
    )
    sentiment = forms.TypedChoiceField(
        choices=[("", "—")] + list(Touchpoint.Sentiment.choices), coerce=int, empty_value=None, required=False
    )

    def clean_happened_at(self):
        happened_at = self.cleaned_data.get("happened_at")
        if happened_at and happened_at > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError("That is in the future: touchpoints are logged after they happen.")
        return happened_at

    def clean(self):
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        if kind == Touchpoint.Kind.FEEDBACK and not data.get("feedback_kind"):
            self.add_error("feedback_kind", "Is it praise, a complaint or an idea?")
        if kind == Touchpoint.Kind.NOTE and not (data.get("note") or "").strip():
            self.add_error("note", "Write the note first: an empty note says nothing on the timeline.")
        if kind == Touchpoint.Kind.PURCHASE and data.get("amount") is None and not data.get("products"):
            self.add_error("amount", "Give the amount or the products bought.")
        return data

    def kinds(self):
        """(value, label, icon) for the kind buttons."""
        return [(value, label, KIND_ICONS[value]) for value, label in HAND_LOGGED_KINDS]
