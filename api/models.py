"""API keys the owner manages, and the answers remembered for Idempotency-Key."""

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    """A key for the JSON API: shown once, stored as a SHA-256 hash, revocable."""

    class Scope(models.TextChoices):
        READ = "read", "Read customers, touchpoints and follow-ups"
        WRITE = "write", "Add and change customers, touchpoints, purchases and follow-ups"
        REDEEM = "redeem", "Look up and redeem gift codes"

    name = models.CharField(max_length=80)
    # The start of the key, kept in clear to find its row and to tell keys apart on the settings page.
    prefix = models.CharField(max_length=16, unique=True)
    # SHA-256 of the whole key: it is 32 random bytes, so a slow password hash adds nothing.
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    # Writes are made in this person's name (the owner who created the key).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["revoked_at", "-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def scope_labels(self) -> list[str]:
        return [s for s in (c.value for c in self.Scope) if s in self.scopes]


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an Idempotency-Key, to answer a repeat with it."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # SHA-256 of the method, the path and the request body as parsed JSON (key order ignored).
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.api_key_id})"
