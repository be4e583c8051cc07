import calendar
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils.html import format_html_join

from crm.forms import RejectNullBytesMixin
from customers.card_cache import LIST_CHOICES, shop_value
from customers.models import Customer, Product, Tag
from customers.registry import list_filter_extensions
from customers.services import phone_normalise

MONTH_CHOICES = [("", "Month")] + [(m, calendar.month_name[m]) for m in range(1, 13)]


class NamesField(forms.CharField):
    """Comma-separated names from a list (products, tags); unknown names are added by the service."""

    def __init__(self, *, datalist: str, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.attrs.update({"list": datalist, "autocomplete": "off", "data-names-input": ""})

    def to_python(self, value) -> list[str]:  # type: ignore[override]  # text in, a list of names out, on purpose
        text = super().to_python(value) or ""
        names, seen = [], set()
        for name in (" ".join(part.split()) for part in text.split(",")):
            if name and name.lower() not in seen:
                if len(name) > 50:
                    raise ValidationError(f"“{name[:20]}…” is too long for a name.")
                seen.add(name.lower())
                names.append(name)
        return names

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return value


def _user_label(user: User) -> str:
    return user.get_full_name() or user.username


class OneQueryChoiceIterator(ModelChoiceIterator):
    """Choices read with one plain query (Django's documented `ModelChoiceField.iterator` hook).

    Django's own iterator reads them with .iterator(), which on PostgreSQL opens a server-side
    cursor (DECLARE, FETCH, CLOSE: three round trips for a dozen names), and a template's
    {% for %} over the choices asks for their number first (a COUNT query).
    """

    def __iter__(self):
        return iter(self._choices())

    def __len__(self) -> int:  # {% for %} asks first, then iterates: one query for both
        return len(self._choices())

    def _choices(self) -> list:
        if not hasattr(self, "_read"):
            empty = [("", self.field.empty_label)] if self.field.empty_label is not None else []
            self._read = empty + [self.choice(obj) for obj in self.queryset.all()]
        return self._read


class UserChoiceField(forms.ModelChoiceField):
    iterator = OneQueryChoiceIterator

    def label_from_instance(self, obj: User) -> str:
        return _user_label(obj)


class ListChoiceField(forms.ModelChoiceField):
    iterator = OneQueryChoiceIterator


class CustomerForm(RejectNullBytesMixin, forms.ModelForm):
    """Add or edit a customer: only the first name is required."""

    favourite_products = NamesField(
        datalist="product-names",
        label="Favourite products",
        help_text="Pick from the list or type a new one; separate with commas.",
    )
    tags = NamesField(datalist="tag-names", label="Tags", help_text="Separate with commas.")
    birthday_day = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=31,
        label="Day",
        widget=forms.NumberInput(attrs={"placeholder": "Day", "inputmode": "numeric"}),
    )
    birthday_month = forms.TypedChoiceField(
        choices=MONTH_CHOICES, coerce=int, empty_value=None, required=False, label="Month"
    )
    birthday_year = forms.IntegerField(
        required=False,
        label="Year (optional)",
        widget=forms.NumberInput(attrs={"placeholder": "Year", "inputmode": "numeric"}),
    )
    referred_by = forms.ModelChoiceField(queryset=Customer.objects.all(), required=False, widget=forms.HiddenInput)
    owner = UserChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "username"),
        required=False,
        label="Relationship owner",
    )

    class Meta:
        model = Customer
        fields = [
            "first_name",
            "last_name",
            "preferred_name",
            "email",
            "phone",
            "birthday_day",
            "birthday_month",
            "birthday_year",
            "notes",
            "how_we_met",
            "referred_by",
            "owner",
            "cadence_days",
            "email_consent",
            "consent_method",
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        }
        labels = {"email_consent": "Agreed to receive emails", "consent_method": "How they agreed"}

    def __init__(self, *args, region: str = "GB", **kwargs):
        super().__init__(*args, **kwargs)
        self.region = region
        # "Online" is only ever set by the customer's own profile link, never typed by staff.
        methods = [
            c
            for c in Customer.ConsentMethod.choices
            if c[0] != Customer.ConsentMethod.ONLINE or self.instance.consent_method == c[0]
        ]
        consent_method = self.fields["consent_method"]
        assert isinstance(consent_method, forms.ChoiceField)  # a model field with choices
        consent_method.choices = [("", "—")] + methods
        if self.instance.pk:
            self.initial["favourite_products"] = [p.name for p in self.instance.favourite_products.all()]
            self.initial["tags"] = [t.name for t in self.instance.tags.all()]
        self.fields["first_name"].widget.attrs["autofocus"] = True

    def clean_email(self) -> str:
        email = (self.cleaned_data.get("email") or "").strip().lower()
        if email and Customer.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError("Another customer already has this email address.")
        return email

    def clean_phone(self) -> str:
        try:
            return phone_normalise(raw=self.cleaned_data.get("phone", ""), region=self.region)
        except ValidationError as error:
            raise ValidationError(error.message_dict["phone"]) from None

    def clean_referred_by(self):
        referred_by = self.cleaned_data.get("referred_by")
        if referred_by and self.instance.pk and referred_by.pk == self.instance.pk:
            raise ValidationError("A customer cannot refer themselves.")
        return referred_by

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("email_consent"):
            if not data.get("email"):
                self.add_error("email_consent", "Add their email address to record consent.")
            if not data.get("consent_method"):
                self.add_error("consent_method", "Say how they agreed.")
        return data


class ImportantDateForm(forms.Form):
    label = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "e.g. Wedding anniversary"}))
    day = forms.IntegerField(min_value=1, max_value=31, widget=forms.NumberInput(attrs={"placeholder": "Day"}))
    month = forms.TypedChoiceField(choices=MONTH_CHOICES, coerce=int)
    year = forms.IntegerField(required=False, widget=forms.NumberInput(attrs={"placeholder": "Year"}))


class FollowUpForm(forms.Form):
    reason = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "What to do"}))
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    assignee = UserChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "username"),
        required=False,
        empty_label="Relationship owner",
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )


class SnoozeForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=366)


class ListFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Name, email or phone")
    tag = ListChoiceField(queryset=Tag.objects.all(), required=False, empty_label="Any tag")
    owner = UserChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "username"),
        required=False,
        empty_label="Any owner",
    )
    product = ListChoiceField(
        queryset=Product.objects.all(), required=False, empty_label="Any favourite", label="Favourite product"
    )
    # What they usually buy, from their purchases: beside the favourites set by hand.
    bought = ListChoiceField(
        queryset=Product.objects.order_by("name"), required=False, empty_label="Usually buys: any", label="Usually buys"
    )
    birthday_month = forms.TypedChoiceField(
        choices=[("", "Any birthday month"), *MONTH_CHOICES[1:]], coerce=int, empty_value=None, required=False
    )
    health = forms.ChoiceField(choices=[("", "Any health")] + list(Customer.Health.choices), required=False)
    stage = forms.ChoiceField(choices=[("", "Any stage")] + list(Customer.Stage.choices), required=False)
    archived = forms.ChoiceField(
        choices=[("", "Active"), ("only", "Archived"), ("all", "Active and archived")], required=False
    )
    sort = forms.ChoiceField(choices=[("name", "Name"), ("recent", "Last seen")], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for extension in list_filter_extensions():  # e.g. saved segments, from the community app
            self.fields[extension.name] = forms.ChoiceField(
                choices=lambda extension=extension: [("", extension.empty_label)] + extension.choices(),
                required=False,
            )
        # Every tag, person, product and segment: a query each on every opening of the list, though they
        # change a few times a week. Read once for the shop and kept (card_cache.shop_value, renewed by
        # the signals of what they show).
        kept = shop_value(LIST_CHOICES, self._read_choices)
        for name, choices in kept.items():
            self.fields[name].choices = choices  # type: ignore[attr-defined]

    def _read_choices(self) -> dict[str, list[tuple[Any, str]]]:
        """The fields' (value, label) pairs as plain values: a model choice's value is its id (its
        documented ModelChoiceIteratorValue.value), so no model instance is kept."""
        names = ("tag", "owner", "product", "bought", *(extension.name for extension in list_filter_extensions()))
        return {
            name: [
                (getattr(value, "value", value), str(label))
                for value, label in cast(Iterable[tuple[Any, Any]], self.fields[name].choices)  # type: ignore[attr-defined]
            ]
            for name in names
        }

    def selects(self) -> list[dict]:
        """Every filter but q as a <select> and its <option>s.

        The options are written here with format_html_join: a {% for %} and an {% if %} per option
        in the template cost a tenth of the list's time for the tags' and products' hundred-odd.
        """
        selects = []
        for bound in self:
            if bound.name == "q":
                continue
            field = bound.field
            assert isinstance(field, forms.ChoiceField)  # every filter but q is a choice
            # Read back, Django's choices are (value, label) pairs; the stubs type the getter as anything settable.
            choices = cast(Iterable[tuple[Any, Any]], field.choices)
            current = "" if bound.value() is None else str(bound.value())
            prefix = "Sort: " if bound.name == "sort" else ""
            selects.append(
                {
                    "name": bound.name,
                    "id": bound.id_for_label,
                    "label": bound.label,
                    "options": format_html_join(
                        "",
                        '<option value="{}"{}>{}</option>',
                        (
                            (value, " selected" if str(value) == current else "", f"{prefix}{label}")
                            for value, label in choices
                        ),
                    ),
                }
            )
        return selects
