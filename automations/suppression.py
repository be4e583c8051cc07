"""The suppression list: addresses never to be emailed again, kept only as a hash.

One hashing rule for everyone (the sender checks it, erasure and hard bounces add to it):
SHA-256 of the trimmed, lower-cased address, in hex.
"""

import hashlib

from automations.models import Suppression


def email_hash(email: str) -> str:
    """The hex SHA-256 of the normalised address (trimmed, lower-cased)."""
    return hashlib.sha256((email or "").strip().lower().encode("utf-8")).hexdigest()


def suppression_add(*, email: str, reason: str) -> Suppression | None:
    """Put an address on the list (idempotent); None for an empty address."""
    if not (email or "").strip():
        return None
    suppression, _ = Suppression.objects.get_or_create(email_hash=email_hash(email), defaults={"reason": reason})
    return suppression


def is_suppressed(email: str) -> bool:
    return bool((email or "").strip()) and Suppression.objects.filter(email_hash=email_hash(email)).exists()
