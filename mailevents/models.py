"""What the mail provider and the customers send back: delivery events, replies; and staff calendar feeds.

Webhook events and replies are stored raw first (one row each, UNIQUE on a key that names the
event), then processed by a task; a row's status says how far it got, so a lost broker message
only delays it (mail_events_sweep_task picks up what is left `received`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from automations.models import OutboundMessage
from customers.models import Customer
from touchpoints.models import Touchpoint


class MailEvent(models.Model):
    """One delivery event from a provider's tracking webhook (anymail's normalised form plus the raw one)."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received, waiting to be processed"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Nothing to do"
        REFUSED = "refused", "Refused: signature or password wrong"

    provider = models.CharField(max_length=30)
    # sha256 of the provider's event id (or of the event itself when it has none) and the recipient.
    dedupe_key = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=20, blank=True)
    event_id = models.CharField(max_length=200, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    recipient = models.EmailField(max_length=254, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    description = models.CharField(max_length=300, blank=True)
    mta_response = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The provider's payload, as it came.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    outcome = models.CharField(max_length=300, blank=True, help_text="What processing did, or why it was refused.")
    message = models.ForeignKey(
        OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="mail_events"
    )
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="mail_events")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["received_at"], condition=Q(status="received"), name="mailevent_waiting_idx"),
            models.Index(fields=["message", "-received_at"], name="mailevent_message_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or 'event'} for {self.recipient or '?'} ({self.status})"


class InboundMail(models.Model):
    """One email that came back to the reply address: from a provider's inbound webhook or the IMAP poll."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received, waiting to be processed"
        LOGGED = "logged", "Logged on the customer's card"
        AUTO_REPLY = "auto_reply", "Automatic reply (out of office): not logged"
        UNMATCHED = "unmatched", "No customer matched"

    source = models.CharField(max_length=30, help_text="The provider, or “imap”.")
    dedupe_key = models.CharField(max_length=64, unique=True, help_text="sha256 of its Message-ID (or of the mail).")
    raw = models.BinaryField(help_text="The whole message (RFC 5322), as received.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    from_email = models.EmailField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mails"
    )
    touchpoint = models.ForeignKey(Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["received_at"], condition=Q(status="received"), name="inbound_waiting_idx")]

    def __str__(self) -> str:
        return f"Reply from {self.from_email or '?'} ({self.status})"


class CalendarFeed(models.Model):
    """A staff member's secret iCalendar URL; revoking it (or making a new one) makes the old URL 404."""

    class Scope(models.TextChoices):
        MINE = "mine", "My customers and my follow-ups"
        SHOP = "shop", "The whole shop (owner only)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    token = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=4, choices=Scope.choices, default=Scope.MINE)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="calendarfeed_one_live_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"Calendar of {self.user} ({'revoked' if self.revoked_at else self.scope})"
