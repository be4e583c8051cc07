from django.conf import settings
from django.db import models
from django.db.models import Q

from customers.models import Customer


class OutboundMessage(models.Model):
    """The outbox: every email is a row before anything is sent, and is sent at most once.

    UNIQUE (recipient_key, kind, occasion_key) makes planning idempotent.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        DRAFT = "draft", "Awaiting review"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed"
        CANCELLED = "cancelled", "Cancelled"
        UNKNOWN = "unknown", "Unknown (worker stopped mid-send)"

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="digests"
    )
    # "c:<customer id>" or "u:<user id>": one column so one UNIQUE covers both kinds of recipient.
    recipient_key = models.CharField(max_length=40)
    kind = models.CharField(max_length=30)
    occasion_key = models.CharField(max_length=100)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    planned_at = models.DateTimeField(help_text="Not before this time (UTC).")
    priority = models.PositiveSmallIntegerField(default=50, help_text="Lower goes first when the cap bites.")
    to_email = models.EmailField(blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    personal_line = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    status_reason = models.CharField(max_length=200, blank=True, help_text="Why it waits, or was not sent.")
    message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-planned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_key", "kind", "occasion_key"], name="outbound_once_per_occasion"
            ),
            models.CheckConstraint(
                condition=Q(customer__isnull=False) | Q(staff_user__isnull=False), name="outbound_has_recipient"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "planned_at"], name="outbound_due_idx"),
            models.Index(fields=["customer", "-planned_at"], name="outbound_customer_idx"),
            models.Index(fields=["kind", "status"], name="outbound_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_key} ({self.status})"


class Suppression(models.Model):
    """Addresses never to be emailed: hard bounces, erasure requests. Only a hash is kept."""

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.reason})"
