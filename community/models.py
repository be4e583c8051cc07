from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
)
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from crm.clock import shop_today
from crm.models import HistoryNotes, ShopSettings
from crm.validators import TEXT_MAX_LENGTH, event_dates_errors, validate_header_line, validate_single_line
from customers.models import Customer

# The most seats an event may have, and guests one person may bring.
EVENT_MAX_CAPACITY, EVENT_MAX_GUESTS = 10_000, 20


class Segment(HistoryNotes, models.Model):
    """A saved filter over customers; `filters` is JSON read by selectors.segment_customers."""

    name = models.CharField(max_length=100, validators=[validate_single_line])
    filters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Newsletter(HistoryNotes, models.Model):
    """A friendly note to a segment; planned into the outbox when it is due."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        PLANNED = "planned", "Handed to the outbox"

    subject = models.CharField(max_length=150, validators=[validate_header_line])
    body = models.TextField(
        help_text="Markdown. Placeholders like {preferred_name} are filled in per customer.",
        validators=[MaxLengthValidator(TEXT_MAX_LENGTH)],
    )
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="newsletters")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    send_at = models.DateTimeField(null=True, blank=True, help_text="UTC; not before this time.")
    planned_at = models.DateTimeField(null=True, blank=True, help_text="When its messages went into the outbox.")
    planned_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0, help_text="In the segment but no email or no consent.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "send_at"], name="newsletter_due_idx")]

    def __str__(self) -> str:
        return self.subject

    @property
    def occasion_key(self) -> str:
        return f"newsletter:{self.pk}"

    @property
    def is_editable(self) -> bool:
        return self.status != self.Status.PLANNED


class Event(HistoryNotes, models.Model):
    """A tasting, a charity day, a class: people say yes up to `capacity` seats (guests included)."""

    title = models.CharField(max_length=150, validators=[validate_header_line])
    description = models.TextField(blank=True, validators=[MaxLengthValidator(TEXT_MAX_LENGTH)])
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    place = models.CharField(max_length=200, blank=True, validators=[validate_single_line])
    capacity = models.PositiveIntegerField(
        help_text="Seats in all, guests included.",
        validators=[MinValueValidator(1, "Give at least one seat."), MaxValueValidator(EVENT_MAX_CAPACITY)],
    )
    max_guests = models.PositiveSmallIntegerField(
        default=3, help_text="How many guests one person may bring.", validators=[MaxValueValidator(EVENT_MAX_GUESTS)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="event_ends_after_start"),
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=EVENT_MAX_CAPACITY), name="event_capacity_range"
            ),
            models.CheckConstraint(condition=Q(max_guests__lte=EVENT_MAX_GUESTS), name="event_max_guests_range"),
        ]
        indexes = [models.Index(fields=["starts_at"], name="event_starts_idx")]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.starts_at and self.ends_at:
            shop = ShopSettings.load()
            # Compared in the shop's zone: "the day the shop opened" and "five years from today" are shop dates.
            errors = event_dates_errors(
                starts_at=timezone.localtime(self.starts_at, shop.tz),
                ends_at=timezone.localtime(self.ends_at, shop.tz),
                opened_on=shop.opened_on,
                today=shop_today(tz=shop.tz),
            )
            if errors:
                raise ValidationError(errors)
        if self.capacity is not None and self.capacity < 1:
            raise ValidationError({"capacity": "Give at least one seat."})


class Invitation(HistoryNotes, models.Model):
    """One customer invited to one event, and their answer."""

    class Answer(models.TextChoices):
        PENDING = "pending", "No answer yet"
        GOING = "going", "Coming"
        WAITING = "waiting", "On the waiting list"
        DECLINED = "declined", "Not coming"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    answer = models.CharField(max_length=10, choices=Answer.choices, default=Answer.PENDING)
    guests = models.PositiveSmallIntegerField(default=0)
    answered_at = models.DateTimeField(null=True, blank=True)
    # Order of the waiting list: who asked first moves up first.
    waiting_since = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["customer__first_name", "customer__last_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "customer"], name="invitation_once_per_event"),
        ]
        indexes = [models.Index(fields=["event", "answer", "waiting_since"], name="invitation_answer_idx")]

    def __str__(self) -> str:
        return f"{self.customer} → {self.event} ({self.answer})"

    @property
    def seats(self) -> int:
        return 1 + self.guests
