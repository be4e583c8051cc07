from django import forms

from crm.forms import RejectNullBytesMixin


class ConnectForm(RejectNullBytesMixin, forms.Form):
    """The secret a till signs its webhooks with (and, for Square, the URL it signs too)."""

    secret = forms.CharField(
        max_length=200,
        required=False,
        strip=True,
        label="Secret",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the one saved.",
    )
    notification_url = forms.URLField(max_length=300, required=False, label="Notification URL", assume_scheme="https")


class AttachSearchForm(forms.Form):
    q = forms.CharField(max_length=100, required=False, label="Name, email or phone")
