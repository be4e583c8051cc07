from django import forms

from api.models import ApiKey
from crm.forms import RejectNullBytesMixin


class ApiKeyForm(RejectNullBytesMixin, forms.Form):
    name = forms.CharField(max_length=80, label="Name", help_text="Who uses it, like “Till” or “Website”.")
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[ApiKey.Scope.READ], label="It may"
    )
