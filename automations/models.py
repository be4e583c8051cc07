from django.conf import settings
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
)
from django.db import models
from django.db.models import Q

from crm.validators import TEXT_MAX_LENGTH, validate_header_line
from customers.models import Customer

# Automation numbers: days before/after an occasion, how long a gift code lasts, every Kth purchase.
AUTOMATION_MAX_DAYS, CODE_MAX_VALID_DAYS, EVERY_K_MAX = 365, 3650, 1000


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
        UNKNOWN = "unknown", "May have arrived"

    class Delivery(models.TextChoices):
        """What the provider reported after sending (its webhooks); the rank below decides which sticks."""

        DEFERRED = "deferred", "Delayed"
        SOFT_BOUNCE = "soft_bounce", "Soft bounce"
        DELIVERED = "delivered", "Delivered"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Marked as spam"

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
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
    # Start of the retry window: a message gives up OUTBOX_RETRY_WINDOW after its first attempt.
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    # Written and committed just before SMTP DATA: without it nothing can have arrived, so a stuck
    # or failed attempt is safely retried; with it and no answer, the message "may have arrived".
    handed_over_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    status_reason = models.CharField(max_length=200, blank=True, help_text="Why it waits, or was not sent.")
    message_id = models.CharField(max_length=200, blank=True)
    # The id the mail provider gave the message (our Message-ID over SMTP): its webhooks refer to it.
    # db_default too: the planners' INSERT … SELECT names its columns, so a new one needs a database default.
    provider_message_id = models.CharField(max_length=200, blank=True, default="", db_default="")
    delivery_status = models.CharField(max_length=12, choices=Delivery.choices, blank=True, default="", db_default="")
    delivery_detail = models.CharField(
        max_length=200, blank=True, default="", db_default="", help_text="The provider's words, e.g. the bounce."
    )
    delivery_at = models.DateTimeField(null=True, blank=True)
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
            # Every touchpoint cancels the customer's waiting "we miss you" (automations.services): found
            # by customer, not by filtering all the shop's waiting ones.
            models.Index(
                fields=["customer"],
                condition=Q(kind="wemissyou", status__in=("planned", "draft")),
                name="outbound_wemissyou_waiting_idx",
            ),
            models.Index(
                fields=["provider_message_id"], condition=~Q(provider_message_id=""), name="outbound_provider_id_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_key} ({self.status})"

    @property
    def kind_label(self) -> str:
        labels = dict(Automation.Kind.choices)
        return labels.get(self.kind) or self.kind.replace("_", " ").capitalize()

    @property
    def recipient_name(self) -> str:
        if self.customer_id:
            return str(self.customer)
        if self.staff_user is not None:
            return self.staff_user.get_full_name() or self.staff_user.get_username()
        return ""


class Suppression(models.Model):
    """Addresses never to be emailed: hard bounces, erasure requests. Only a hash is kept."""

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.reason})"


class Automation(models.Model):
    """The owner's settings for one automation: on/off, its numbers, review before sending.

    One row per kind, made on first use (see automations.services.automation_get).
    """

    class Kind(models.TextChoices):
        THANK_YOU = "thankyou", "Thank-you note"
        BIRTHDAY = "birthday", "Birthday greeting"
        GIFT_EXPIRY = "gift_expiry", "Gift expiry reminder"
        WE_MISS_YOU = "wemissyou", "We miss you"
        LOYALTY = "loyalty", "Loyalty gift"
        REFERRAL = "referral", "Referral thank-you"
        MAKE_IT_RIGHT = "make_it_right", "Make it right"
        DIGEST = "digest", "Staff morning digest"

    class CodeKind(models.TextChoices):
        # The same values as gifts.GiftCode.Kind (free-product codes are issued by hand only).
        PERCENT_OFF = "percent", "Percent off"
        AMOUNT_OFF = "amount", "Amount off"

    kind = models.CharField(max_length=30, choices=Kind.choices, unique=True)
    enabled = models.BooleanField(default=True)
    review_before_sending = models.BooleanField(
        default=False, help_text="Put messages in a queue where staff add a personal line and approve them."
    )
    days = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(AUTOMATION_MAX_DAYS, f"Choose at most {AUTOMATION_MAX_DAYS} days.")]
    )
    code_valid_days = models.PositiveSmallIntegerField(
        default=30,
        verbose_name="gift code valid for (days)",
        validators=[MinValueValidator(1), MaxValueValidator(CODE_MAX_VALID_DAYS)],
    )
    code_kind = models.CharField(max_length=10, choices=CodeKind.choices, default=CodeKind.PERCENT_OFF)
    code_value = models.DecimalField(max_digits=8, decimal_places=2, default=10)
    every_k = models.PositiveSmallIntegerField(
        default=5,
        verbose_name="every Kth purchase",
        validators=[MinValueValidator(1, "Choose 1 or more."), MaxValueValidator(EVERY_K_MAX)],
    )
    with_code = models.BooleanField(default=True, verbose_name="include a gift code")
    leap_day_on_march_1 = models.BooleanField(
        default=False,
        verbose_name="greet 29 February birthdays on 1 March in other years",
        help_text="Off: on 28 February.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(code_value__gt=0), name="automation_code_value_positive"),
            models.CheckConstraint(condition=Q(days__lte=AUTOMATION_MAX_DAYS), name="automation_days_range"),
            models.CheckConstraint(
                condition=Q(code_valid_days__gte=1, code_valid_days__lte=CODE_MAX_VALID_DAYS),
                name="automation_code_valid_days_range",
            ),
            models.CheckConstraint(
                condition=Q(every_k__gte=1, every_k__lte=EVERY_K_MAX), name="automation_every_k_range"
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class MessageTemplate(models.Model):
    """Subject and body the owner writes for one kind of customer email; placeholders in braces."""

    kind = models.CharField(max_length=30, unique=True)
    subject = models.CharField(max_length=200, validators=[validate_header_line])
    body_text = models.TextField(validators=[MaxLengthValidator(TEXT_MAX_LENGTH)])
    body_html = models.TextField(
        blank=True,
        validators=[MaxLengthValidator(TEXT_MAX_LENGTH)],
        help_text="Leave empty to build the HTML from the text.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Template for {self.kind}"


class OutboxControl(models.Model):
    """The one row with the owner's "pause all sending" switch; read it with OutboxControl.load()."""

    paused = models.BooleanField(default=False)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The circuit breaker, shared by every worker: set when the mail server stops answering (or
    # answers 4xx to the whole session); while retry_at is in the future no worker tries to send.
    mail_down_since = models.DateTimeField(null=True, blank=True)
    mail_retry_at = models.DateTimeField(null=True, blank=True)
    mail_failures = models.PositiveIntegerField(default=0)
    mail_last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return "Sending paused" if self.paused else "Sending on"

    @classmethod
    def load(cls) -> "OutboxControl":
        control, _ = cls.objects.get_or_create(pk=1)
        return control


class EmailOptOut(models.Model):
    """A customer leaving the mailing list through their unsubscribe link (shown on the timeline)."""

    class Via(models.TextChoices):
        LINK = "link", "Unsubscribe link"
        ONE_CLICK = "one_click", "One-click unsubscribe in their mail app"
        PROVIDER = "provider", "Unsubscribed through the mail service"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="email_opt_outs")
    via = models.CharField(max_length=10, choices=Via.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="optout_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} unsubscribed ({self.via})"


class ProfileLinkEvent(models.Model):
    """The customer's own profile link at work, shown on the friend card.

    A saved change or a confirmed one moves the customer's link generation on (see
    automations.links): every profile link sent before it stops working, so a link works for one save.
    """

    class Kind(models.TextChoices):
        SAVED = "saved", "Changed their details"
        CONFIRM_SENT = "confirm_sent", "Asked to change their email or consent (confirmation sent)"
        CONFIRMED = "confirmed", "Confirmed a change by email"
        LINK_SENT = "link_sent", "Asked for a new link"

    # The kinds that use a link up.
    USING = (Kind.SAVED, Kind.CONFIRMED)

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="profile_link_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.CharField(max_length=200, blank=True, help_text="What changed, in words.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "kind"], name="profilelink_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.kind}"

    @property
    def kind_label(self) -> str:
        return dict(self.Kind.choices).get(self.kind, self.kind)
