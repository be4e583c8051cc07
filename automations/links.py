"""Signed links in emails: unsubscribe and "keep your details up to date".

Tokens are signed with SECRET_KEY and a salt per purpose, so one kind of link can
never be used as another; a forged or altered token raises BadSignature.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

UNSUBSCRIBE_SALT = "rapport.unsubscribe"
PROFILE_SALT = "rapport.profile"
PROFILE_MAX_AGE = 60 * 60 * 24 * 30  # a profile link works for 30 days


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_token(*, recipient_key: str) -> str:
    return signing.dumps({"r": recipient_key}, salt=UNSUBSCRIBE_SALT, compress=True)


def recipient_from_unsubscribe_token(token: str) -> str:
    """The recipient key ("c:<id>"); raises signing.BadSignature for a forged token.

    Unsubscribe links do not expire: an old email must still let someone leave.
    """
    return signing.loads(token, salt=UNSUBSCRIBE_SALT)["r"]


def profile_token(*, customer_id: int) -> str:
    return signing.dumps({"c": customer_id}, salt=PROFILE_SALT, compress=True)


def customer_id_from_profile_token(token: str, max_age: int = PROFILE_MAX_AGE) -> int:
    """Raises signing.SignatureExpired (too old) or signing.BadSignature (forged)."""
    return signing.loads(token, salt=PROFILE_SALT, max_age=max_age)["c"]


def unsubscribe_url(*, recipient_key: str) -> str:
    """Absolute URL of the one-click unsubscribe (automations:unsubscribe) for this recipient."""
    return _absolute(reverse("automations:unsubscribe", args=[unsubscribe_token(recipient_key=recipient_key)]))


def profile_url(*, customer_id: int) -> str:
    """Absolute URL of the customer's own profile page (community:profile), for every email's footer."""
    return _absolute(reverse("community:profile", args=[profile_token(customer_id=customer_id)]))
