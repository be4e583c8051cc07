"""Shapes of the API's requests and answers.

Input serializers declare the fields (for the schema and JSON types); the rules are the pages'
own: each one hands its data to the same Django form the page uses, so the API gives the same
field errors, and the view then calls the same service.
"""

from decimal import Decimal

from django import forms
from django.contrib.auth.models import User
from rest_framework import serializers

from customers.forms import CustomerForm, FollowUpForm
from customers.models import Customer, FollowUp
from gifts.models import GiftCode
from touchpoints.forms import TouchpointForm
from touchpoints.models import Touchpoint

# --- Running the pages' forms ------------------------------------------------------------


def _as_form_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (User, Customer)):
        return str(value.pk)
    return str(value)


def form_clean(form: forms.BaseForm) -> dict:
    """The form's cleaned data, or its errors (as the page shows them) as a 400."""
    if not form.is_valid():
        raise serializers.ValidationError({name: [str(m) for m in errors] for name, errors in form.errors.items()})
    return form.cleaned_data


def form_data(values: dict, *, form: forms.BaseForm | None = None) -> dict:
    """JSON values as form fields; with `form` (an unbound one on the instance), unchanged fields keep their value."""
    data = {}
    if form is not None:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if isinstance(field, forms.BooleanField) and not value:
                continue
            data[name] = _as_form_value(value)
    for name, value in values.items():
        if isinstance(value, bool) and not value:
            data.pop(name, None)  # an unticked checkbox is absent
        else:
            data[name] = _as_form_value(value)
    return data


# Ids are bigints: a larger number must be a 400, not a database error.
MAX_ID = 2**63 - 1
NAMES = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=50)


# --- Customers ------------------------------------------------------------------------------


class CustomerSerializer(serializers.ModelSerializer):
    # Blank is a value these have: the schema must say so ("" is neither an email nor a method).
    email = serializers.CharField(read_only=True)
    consent_method = serializers.ChoiceField(choices=[("", "—"), *Customer.ConsentMethod.choices], read_only=True)
    # Names, A-Z, read with the customer (api.views._customers_with_lists annotates them).
    favourite_products = serializers.ListField(
        child=serializers.CharField(), source="favourite_product_names", read_only=True
    )
    tags = serializers.ListField(child=serializers.CharField(), source="tag_names", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
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
            "consent_at",
            "favourite_products",
            "tags",
            "is_archived",
            "created_at",
            "updated_at",
            "last_touchpoint_at",
            "purchase_count",
            "lifetime_spend",
            "health",
            "stage",
        ]
        read_only_fields = fields


class CustomerWriteSerializer(serializers.Serializer):
    """Add or change a customer (PATCH: only the fields sent change). Validated by the customer form."""

    first_name = serializers.CharField(max_length=100, required=False)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    preferred_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    birthday_day = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=31)
    birthday_month = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=12)
    birthday_year = serializers.IntegerField(required=False, allow_null=True, min_value=1900, max_value=9999)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    how_we_met = serializers.CharField(max_length=200, required=False, allow_blank=True)
    referred_by = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID, help_text="A customer's id."
    )
    owner = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID, help_text="A staff member's user id."
    )
    cadence_days = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=3650)
    email_consent = serializers.BooleanField(required=False)
    consent_method = serializers.ChoiceField(
        choices=[("", "—"), *Customer.ConsentMethod.choices], required=False, allow_blank=True
    )
    favourite_products = NAMES
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=50)

    def validate(self, attrs: dict) -> dict:
        instance: Customer | None = self.context.get("customer")
        region = self.context["region"]
        if instance is None:
            if "first_name" not in attrs:
                raise serializers.ValidationError({"first_name": ["This field is required."]})
            form = CustomerForm(form_data(attrs), region=region)
        else:
            base = CustomerForm(instance=instance, region=region)
            form = CustomerForm(form_data(attrs, form=base), instance=instance, region=region)
        cleaned = form_clean(form)
        if instance is None and "owner" not in attrs:
            cleaned.pop("owner", None)  # the service's default, whoever adds them (the page preselects them too)
        if instance is not None:
            # Only what was sent changes: the rest stays as it is (and is not rewritten to history).
            cleaned = {name: cleaned[name] for name in attrs if name in cleaned}
        return cleaned


# --- Touchpoints and purchases -------------------------------------------------------------


class TouchpointSerializer(serializers.ModelSerializer):
    feedback_kind = serializers.ChoiceField(choices=[("", "—"), *Touchpoint.FeedbackKind.choices], read_only=True)
    products = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Touchpoint
        fields = [
            "id",
            "customer",
            "kind",
            "happened_at",
            "note",
            "amount",
            "currency",
            "products",
            "feedback_kind",
            "sentiment",
            "refunded_amount",
            "refunded_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_products(self, touchpoint: Touchpoint) -> list[str]:
        return touchpoint.product_names

    def get_currency(self, touchpoint: Touchpoint) -> str | None:
        if touchpoint.amount is None:
            return None
        return touchpoint.currency or self.context["shop_currency"]


class TouchpointWriteSerializer(serializers.Serializer):
    """Log a touchpoint, validated by the page's touchpoint form."""

    kind = serializers.ChoiceField(choices=Touchpoint.Kind.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    happened_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Empty for now.")
    amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True, min_value=Decimal(0)
    )
    products = NAMES
    feedback_kind = serializers.ChoiceField(
        choices=[("", "—"), *Touchpoint.FeedbackKind.choices], required=False, allow_blank=True
    )
    sentiment = serializers.ChoiceField(choices=Touchpoint.Sentiment.choices, required=False, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        values = dict(attrs)
        if values.get("happened_at") is not None:
            values["happened_at"] = values["happened_at"].isoformat()
        return form_clean(TouchpointForm(form_data(values)))


class PurchaseWriteSerializer(serializers.Serializer):
    """A purchase from a till, a website or an automation tool; the same external id is recorded once."""

    customer = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The customer's id.")
    external_id = serializers.CharField(max_length=100, help_text="Your id for it: sent again, it is recorded once.")
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal(0))
    currency = serializers.RegexField(r"^[A-Za-z]{3}\Z", required=False, help_text="ISO 4217; the shop's if left out.")
    products = NAMES
    happened_at = serializers.DateTimeField(required=False, help_text="Defaults to now.")


class PurchaseSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    touchpoint = serializers.IntegerField(source="touchpoint_id", allow_null=True)
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    products = serializers.ListField(child=serializers.CharField())
    happened_at = serializers.DateTimeField()
    refunded_amount = serializers.DecimalField(max_digits=10, decimal_places=2)


# --- Gift codes ---------------------------------------------------------------------------------


class GiftCodeSerializer(serializers.ModelSerializer):
    worth = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = GiftCode
        fields = [
            "code",
            "customer",
            "kind",
            "value",
            "product",
            "worth",
            "issued_at",
            "expires_on",
            "redeemed_at",
            "status",
        ]
        read_only_fields = fields

    def get_worth(self, gift: GiftCode) -> str:
        from gifts.services import gift_code_value_display

        return gift_code_value_display(gift, currency=self.context["shop_currency"])

    def get_status(self, gift: GiftCode) -> str:
        """ "redeemed", "expired" or "valid" (in the shop's time zone)."""
        if gift.redeemed_at:
            return "redeemed"
        return "expired" if gift.expires_on < self.context["shop_today"] else "valid"


# --- Follow-ups ---------------------------------------------------------------------------------


class FollowUpSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUp
        fields = ["id", "customer", "reason", "due_date", "status", "source", "assignee", "created_at", "closed_at"]
        read_only_fields = fields


class FollowUpWriteSerializer(serializers.Serializer):
    """Open a follow-up, validated by the card's follow-up form."""

    customer = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The customer's id.")
    reason = serializers.CharField(max_length=200)
    due_date = serializers.DateField()
    assignee = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="A staff member's user id; the relationship owner if left out.",
    )

    def validate(self, attrs: dict) -> dict:
        cleaned = form_clean(FollowUpForm(form_data({k: v for k, v in attrs.items() if k != "customer"})))
        return {**cleaned, "customer": attrs["customer"]}


# --- Query parameters ---------------------------------------------------------------------------


class CustomerFilterSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=100, required=False, allow_blank=True)
    updated_since = serializers.DateTimeField(required=False)
    archived = serializers.BooleanField(required=False, default=False)


class FollowUpFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=FollowUp.Status.choices, required=False)
    customer = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    assignee = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    due_before = serializers.DateField(required=False)
