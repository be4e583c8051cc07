from typing import cast

from django import forms
from django.contrib.auth.models import User

from crm.roles import OWNER, STAFF


class _PasswordPair(forms.Form):
    password1 = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text="At least 8 characters, not a common or all-number password.",
    )
    password2 = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class StaffCreateForm(_PasswordPair):
    username = forms.CharField(max_length=150, help_text="What they type to log in.")
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False, help_text="For the morning digest.")
    role = forms.ChoiceField(choices=[(STAFF, "Staff"), (OWNER, "Owner (sees settings, staff, data)")], initial=STAFF)
    field_order = ["username", "first_name", "last_name", "email", "role", "password1", "password2"]


class PasswordResetForm(_PasswordPair):
    pass


class HandoverForm(forms.Form):
    to_user = forms.ModelChoiceField(queryset=User.objects.none(), label="Hand over to", empty_label="Choose a person")
    deactivate = forms.BooleanField(required=False, label="Also deactivate this account (they are leaving)")

    def __init__(self, *args, from_user: User, **kwargs):
        super().__init__(*args, **kwargs)
        to_user = cast(forms.ModelChoiceField, self.fields["to_user"])
        to_user.queryset = (
            User.objects.filter(is_active=True).exclude(pk=from_user.pk).order_by("first_name", "username")
        )
        to_user.label_from_instance = lambda u: u.get_full_name() or u.get_username()  # type: ignore[assignment]  # a label per instance, as Django documents
