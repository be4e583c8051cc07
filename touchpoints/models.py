from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from crm.models import HistoryNotes
from crm.validators import NOTE_MAX_LENGTH
from customers.models import Customer, Product

KIND_ICONS = {
    "visit": "shop",
    "purchase": "bag-check",
    "call": "telephone",
    "email": "envelope",
    "message": "chat-dots",
    "event": "calendar-event",
    "feedback": "megaphone",
    "gift": "gift",
    "note": "sticky",
    "reply": "reply",
}


class Touchpoint(HistoryNotes, models.Model):
    """One interaction with a customer; a customer's timeline is the list of these."""

    class Kind(models.TextChoices):
        VISIT = "visit", "Visit"
        PURCHASE = "purchase", "Purchase"
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MESSAGE = "message", "Message / social"
        EVENT = "event", "Event"
        FEEDBACK = "feedback", "Feedback"
        GIFT = "gift", "Gift given"
        NOTE = "note", "Note"
        # Logged by Rapport when a customer answers one of its emails (mailevents), not by hand.
        REPLY = "reply", "Email reply"

    class FeedbackKind(models.TextChoices):
        PRAISE = "praise", "Praise"
        COMPLAINT = "complaint", "Complaint"
        IDEA = "idea", "Idea"

    class Sentiment(models.IntegerChoices):
        NEGATIVE = -1, "Negative"
        NEUTRAL = 0, "Neutral"
        POSITIVE = 1, "Positive"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="touchpoints")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    happened_at = models.DateTimeField(help_text="When it happened, not when it was typed.")
    note = models.TextField(blank=True, validators=[MaxLengthValidator(NOTE_MAX_LENGTH)])
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # ISO 4217; blank means the shop's currency. Lifetime spend adds only amounts in the shop's
    # currency (there is no exchange rate to apply offline); others are kept with their currency.
    currency = models.CharField(max_length=3, blank=True, db_default="")
    # A refund (from the till) takes the refunded part off lifetime spend; a fully refunded
    # purchase no longer counts as a purchase.
    refunded_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    products = models.ManyToManyField(Product, blank=True, related_name="touchpoints")
    feedback_kind = models.CharField(max_length=10, choices=FeedbackKind.choices, blank=True)
    sentiment = models.SmallIntegerField(choices=Sentiment.choices, null=True, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-happened_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "-happened_at"], name="touchpoint_timeline_idx"),
            models.Index(fields=["happened_at"], name="touchpoint_happened_idx"),
            models.Index(fields=["logged_by", "happened_at"], name="touchpoint_staff_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="touchpoint_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} with {self.customer} on {self.happened_at:%Y-%m-%d}"

    @property
    def product_names(self) -> list[str]:
        """Its products' names, A-Z. The timeline reads them in its own query (touchpoint_timeline_source)."""
        names = self.__dict__.get("_product_names")
        if names is None:
            names = self._product_names = [product.name for product in self.products.all()]
        return names

    @property
    def is_refunded(self) -> bool:
        return self.refunded_at is not None

    @property
    def kind_label(self) -> str:
        """get_kind_display() without building the choices' dict on each call (a card shows ten)."""
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def logged_by_name(self) -> str:
        """Who logged it, as the timeline shows them ("" when nobody: an import, a deleted user)."""
        user = self.logged_by
        return (user.get_full_name() or user.username) if user else ""

    @property
    def feedback_kind_label(self) -> str:
        return FEEDBACK_KIND_LABELS.get(self.feedback_kind, self.feedback_kind)

    @property
    def icon(self) -> str:
        """The bootstrap-icons name for this kind."""
        return KIND_ICONS.get(self.kind, "dot")

    @property
    def is_complaint(self) -> bool:
        return self.kind == self.Kind.FEEDBACK and self.feedback_kind == self.FeedbackKind.COMPLAINT


KIND_LABELS = dict(Touchpoint.Kind.choices)
FEEDBACK_KIND_LABELS = dict(Touchpoint.FeedbackKind.choices)
