import calendar
from datetime import date

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Upper
from simple_history.models import HistoricalRecords

from crm.models import HistoryNotes
from crm.validators import (
    CADENCE_MAX_DAYS,
    CADENCE_MIN_DAYS,
    TEXT_MAX_LENGTH,
    YEAR_MIN,
    cadence_validators,
    validate_single_line,
)

# Days in each month with 29 February allowed: a birthday has no year to check against.
MAX_DAY_IN_MONTH = {m: (29 if m == 2 else calendar.monthrange(2001, m)[1]) for m in range(1, 13)}


def birthday_check(prefix: str) -> Q:
    """A CHECK that day/month (either both null or a real day, 29 Feb allowed) form a date."""
    day, month = f"{prefix}_day", f"{prefix}_month"
    valid = Q(**{f"{day}__isnull": True, f"{month}__isnull": True})
    for max_day, months in ((31, (1, 3, 5, 7, 8, 10, 12)), (30, (4, 6, 9, 11)), (29, (2,))):
        valid |= Q(**{f"{month}__in": months, f"{day}__gte": 1, f"{day}__lte": max_day})
    return valid


def validate_day_month_year(day: int | None, month: int | None, year: int | None, label: str) -> None:
    """Raise a ValidationError keyed by field for an impossible date such as 30 February."""
    if day is None and month is None:
        if year is not None:
            raise ValidationError({f"{label}_day": "Give the day and month too, or leave the year empty."})
        return
    if day is None or month is None:
        raise ValidationError({f"{label}_day": "Give both the day and the month."})
    if not 1 <= month <= 12:
        raise ValidationError({f"{label}_month": "Month must be between 1 and 12."})
    if not 1 <= day <= MAX_DAY_IN_MONTH[month]:
        raise ValidationError({f"{label}_day": f"{calendar.month_name[month]} has no day {day}."})
    if year is not None:
        if not YEAR_MIN <= year <= date.today().year:
            raise ValidationError({f"{label}_year": f"Give a year between {YEAR_MIN} and this year."})
        if month == 2 and day == 29 and not calendar.isleap(year):
            raise ValidationError({f"{label}_day": f"{year} was not a leap year, so it had no 29 February."})


class Tag(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tag_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="product_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Customer(HistoryNotes, models.Model):
    class ConsentMethod(models.TextChoices):
        IN_PERSON = "in_person", "Asked in person"
        SIGNED_FORM = "signed_form", "Signed form"
        IMPORTED = "imported", "Imported"
        ONLINE = "online", "Online (profile link)"

    class Health(models.TextChoices):
        WARM = "warm", "Warm"
        COOLING = "cooling", "Cooling"
        COLD = "cold", "Cold"

    class Stage(models.TextChoices):
        PROSPECT = "prospect", "Prospect"
        CUSTOMER = "customer", "Customer"
        REGULAR = "regular", "Regular"
        ADVOCATE = "advocate", "Advocate"

    first_name = models.CharField(max_length=100, validators=[validate_single_line])
    last_name = models.CharField(max_length=100, blank=True, validators=[validate_single_line])
    preferred_name = models.CharField(
        max_length=100, blank=True, help_text="What they like to be called.", validators=[validate_single_line]
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="Stored in E.164, like +447700900123.")
    birthday_day = models.PositiveSmallIntegerField(null=True, blank=True)
    birthday_month = models.PositiveSmallIntegerField(null=True, blank=True)
    birthday_year = models.PositiveSmallIntegerField(null=True, blank=True)
    favourite_products = models.ManyToManyField(Product, blank=True, related_name="fans")
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")
    notes = models.TextField(
        blank=True,
        validators=[MaxLengthValidator(TEXT_MAX_LENGTH)],
        help_text="Family, pets, hobbies: what a friend would remember.",
    )
    how_we_met = models.CharField(max_length=200, blank=True, validators=[validate_single_line])
    referred_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
        verbose_name="relationship owner",
    )
    cadence_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        verbose_name="keep-in-touch cadence (days)",
        help_text="Empty uses the shop's default.",
        validators=cadence_validators(),
    )
    email_consent = models.BooleanField(default=False)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_method = models.CharField(max_length=20, choices=ConsentMethod.choices, blank=True)
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True, help_text="Personal data erased on request.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Figures kept up to date by the service that logs a touchpoint and recomputed
    # nightly; pages read these instead of aggregating touchpoints per row.
    last_touchpoint_at = models.DateTimeField(null=True, blank=True)
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    purchase_count = models.PositiveIntegerField(default=0)
    lifetime_spend = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    touchpoints_90d = models.PositiveIntegerField(default=0)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.COLD)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.PROSPECT)
    closeness = models.FloatField(default=0)
    figures_updated_at = models.DateTimeField(null=True, blank=True)

    # The figures kept from the touchpoints (touchpoints.figures writes them, never a person).
    FIGURE_FIELDS = (
        "last_touchpoint_at",
        "first_purchase_at",
        "purchase_count",
        "lifetime_spend",
        "touchpoints_90d",
        "health",
        "stage",
        "closeness",
        "figures_updated_at",
    )
    history = HistoricalRecords(
        excluded_fields=[*FIGURE_FIELDS, "updated_at"],
        m2m_fields=[favourite_products, tags],
    )

    class Meta:
        ordering = ["first_name", "last_name"]
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="customer_email_unique_ci"),
            models.CheckConstraint(condition=birthday_check("birthday"), name="customer_birthday_valid"),
            models.CheckConstraint(
                condition=Q(cadence_days__isnull=True)
                | Q(cadence_days__gte=CADENCE_MIN_DAYS, cadence_days__lte=CADENCE_MAX_DAYS),
                name="customer_cadence_range",
                violation_error_message="Give a number of days between 1 and 3,650 (ten years).",
            ),
            models.CheckConstraint(
                condition=Q(birthday_year__isnull=True) | Q(birthday_year__gte=YEAR_MIN),
                name="customer_birthday_year_from_1900",
                violation_error_message=f"Give a year between {YEAR_MIN} and this year.",
            ),
        ]
        indexes = [
            models.Index(fields=["birthday_month", "birthday_day"], name="customer_birthday_idx"),
            # My day: one person's birthdays this week without intersecting all their customers, read
            # from the index alone (a staff member with 33,000 customers has 500 birthdays in a week).
            models.Index(
                fields=["owner", "birthday_month", "birthday_day"],
                condition=Q(is_archived=False),
                include=["id", "birthday_year", "first_name", "last_name", "preferred_name"],
                name="customer_owner_birthdays_idx",
            ),
            # The few archived customers, whose follow-ups My day leaves out without joining every row.
            models.Index(fields=["id"], condition=Q(is_archived=True), name="customer_archived_idx"),
            models.Index(fields=["owner", "is_archived"], name="customer_owner_idx"),
            models.Index(fields=["last_touchpoint_at"], name="customer_last_tp_idx"),
            # The customer list sorted by "last seen" (customers.selectors.SORTS["recent"]) reads its
            # page from here instead of sorting every active customer (58 ms at 100,000).
            models.Index(
                F("last_touchpoint_at").desc(nulls_last=True),
                F("id"),
                condition=Q(is_archived=False),
                name="customer_live_last_seen_idx",
            ),
            models.Index(fields=["health"], name="customer_health_idx"),
            # Counting a health filter of the customer list (its paginator) by index-only scan.
            models.Index(fields=["health"], condition=Q(is_archived=False), name="customer_live_health_idx"),
            models.Index(fields=["-closeness"], name="customer_closeness_idx"),
            models.Index(Lower("last_name"), Lower("first_name"), name="customer_name_idx"),
            models.Index(Upper("email"), name="customer_email_upper_idx"),
            models.Index(fields=["phone"], name="customer_phone_idx"),
            # Trigram indexes serve the `ilike` lookup (customers/lookups.py) used by search.
            *(
                GinIndex(fields=[field], opclasses=["gin_trgm_ops"], name=f"customer_{field}_trgm")
                for field in ("first_name", "last_name", "preferred_name", "email", "phone")
            ),
            # Search lists prefix matches first: it reads them by index-only range scans of these
            # (customers.selectors.customer_search_rows), with the columns it filters and sorts them
            # by, instead of reading every match.
            *(
                models.Index(
                    OpClass(Lower(field), name="text_pattern_ops"),
                    name=f"customer_{short}_prefix_idx",
                    include=["id", "first_name", "last_name", "preferred_name", *extra],
                    condition=condition,
                )
                for field, short, extra, condition in (
                    ("first_name", "first", [], Q(is_archived=False)),
                    ("last_name", "last", [], Q(is_archived=False)),
                    # Most customers have no preferred name.
                    ("preferred_name", "preferred", [], Q(is_archived=False) & ~Q(preferred_name="")),
                    ("email", "email", ["email"], Q(is_archived=False)),
                )
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    # Labels by dict, for the rows and badges that show one per customer (get_FOO_display rebuilds
    # its mapping on every call).
    @property
    def health_label(self) -> str:
        return HEALTH_LABELS.get(self.health, self.health)

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.first_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def effective_email(self) -> str:
        return self.email

    def clean(self) -> None:
        validate_day_month_year(self.birthday_day, self.birthday_month, self.birthday_year, "birthday")
        if self.referred_by_id and self.referred_by_id == self.pk:
            raise ValidationError({"referred_by": "A customer cannot refer themselves."})


HEALTH_LABELS = dict(Customer.Health.choices)
STAGE_LABELS = dict(Customer.Stage.choices)


class ImportantDate(HistoryNotes, models.Model):
    """Anniversaries, children's birthdays: a day and month, with an optional year."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="important_dates")
    label = models.CharField(
        max_length=100,
        help_text="For example “Wedding anniversary” or “Mia's birthday”.",
        validators=[validate_single_line],
    )
    date_day = models.PositiveSmallIntegerField()
    date_month = models.PositiveSmallIntegerField()
    date_year = models.PositiveSmallIntegerField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date_month", "date_day"]
        constraints = [
            models.CheckConstraint(condition=birthday_check("date"), name="important_date_valid"),
            models.CheckConstraint(
                condition=Q(date_year__isnull=True) | Q(date_year__gte=YEAR_MIN),
                name="important_date_year_from_1900",
                violation_error_message=f"Give a year between {YEAR_MIN} and this year.",
            ),
        ]
        indexes = [models.Index(fields=["date_month", "date_day"], name="important_date_md_idx")]

    def __str__(self) -> str:
        return f"{self.label} ({self.date_day} {calendar.month_abbr[self.date_month]})"

    def clean(self) -> None:
        validate_day_month_year(self.date_day, self.date_month, self.date_year, "date")


class FollowUp(HistoryNotes, models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SNOOZED = "snoozed", "Snoozed"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    # Still to do: on the card, My day and the dashboard.
    OPEN_STATUSES = (Status.OPEN, Status.SNOOZED)

    class Source(models.TextChoices):
        MANUAL = "manual", "By hand"
        COMPLAINT = "complaint", "Complaint (make it right)"
        AUTOMATION = "automation", "Automation"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="followups")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="followups"
    )
    reason = models.CharField(max_length=200, validators=[validate_single_line])
    due_date = models.DateField(help_text="In the shop's time zone.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [
            # My day counts and pages one person's follow-ups due from this index alone.
            models.Index(
                fields=["assignee", "status", "due_date"],
                include=["id", "customer_id"],
                name="followup_assignee_due_ix",
            ),
            models.Index(fields=["customer", "status"], name="followup_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.customer})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.SNOOZED)
