from django.conf import settings
from django.db import models


class AuditRecord(models.Model):
    """Who did what, when, to which record: never the personal data itself.

    Roles are Django groups (see roles.py); field-level change history lives in
    django-simple-history. This table holds events that leave no row behind to
    carry a history (an erasure, an export, a hand-over, an import).
    """

    class Action(models.TextChoices):
        CUSTOMER_ERASED = "customer_erased", "Customer's personal data erased"
        CUSTOMER_EXPORTED = "customer_exported", "Customer's data exported"
        CUSTOMERS_EXPORTED = "customers_exported", "Customer list exported"
        TOUCHPOINTS_EXPORTED = "touchpoints_exported", "Touchpoints exported"
        IMPORT_DONE = "import_done", "Customers imported"
        STAFF_ADDED = "staff_added", "Staff member added"
        STAFF_DEACTIVATED = "staff_deactivated", "Staff member deactivated"
        STAFF_REACTIVATED = "staff_reactivated", "Staff member reactivated"
        PASSWORD_RESET = "password_reset", "Password reset by the owner"
        STAFF_HANDOVER = "staff_handover", "Customers and follow-ups handed over"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too, so the record still says who after the account is gone.
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="Counts and ids only, no personal data.")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["-at"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_username or 'system'} at {self.at:%Y-%m-%d %H:%M}"
