"""Writes for API keys and the idempotency records."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from api.models import ApiKey, IdempotencyRecord

KEY_PREFIX = "rk_"
# last_used_at is written at most this often per key: not one UPDATE per request.
LAST_USED_EVERY = timedelta(minutes=1)
IDEMPOTENCY_KEEP = timedelta(hours=24)


def api_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, scopes: list[str], created_by: User) -> tuple[ApiKey, str]:
    """A new key and its text, which is shown once and never stored."""
    name = " ".join(name.split())
    scopes = [s for s in ApiKey.Scope.values if s in set(scopes)]
    if not name:
        raise ValidationError({"name": "Give the key a name, like “Till” or “Website”."})
    if not scopes:
        raise ValidationError({"scopes": "Choose at least one scope."})
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, prefix=prefix, key_hash=api_key_hash(raw), scopes=scopes, created_by=created_by)
    key.full_clean()
    key.save()
    return key, raw


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> None:
    """Stop a key working at once; the row stays so the history's "via API key …" still names it."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_check(raw: str) -> ApiKey | None:
    """The active key this text is, or None; notes when it was used (at most once a minute)."""
    if not raw.startswith(KEY_PREFIX):
        return None
    prefix = raw[len(KEY_PREFIX) :].split("_", 1)[0]
    key = ApiKey.objects.select_related("created_by").filter(prefix=prefix[:16], revoked_at__isnull=True).first()
    if key is None or not secrets.compare_digest(key.key_hash, api_key_hash(raw)):
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def idempotency_records_prune(*, now=None) -> int:
    """Forget answers older than a day: a client retries within minutes, not days."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - IDEMPOTENCY_KEEP).delete()
    return deleted
