"""Signed links in emails: unsubscribe and "keep your details up to date".

Tokens are signed with SECRET_KEY and a salt per purpose, so one kind of link can
never be used as another; a forged or altered token raises BadSignature.
"""

import re
from email.utils import parseaddr

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

UNSUBSCRIBE_SALT = "rapport.unsubscribe"
PROFILE_SALT = "rapport.profile"
PROFILE_MAX_AGE = 60 * 60 * 24 * 30  # a profile link works for 30 days, and for one save
PROFILE_CONFIRM_SALT = "rapport.profile-confirm"
PROFILE_CONFIRM_MAX_AGE = 60 * 60 * 24 * 7  # a confirmation link works for a week, once


REPLY_SALT = "rapport.reply"
# box+r42.0123456789abcdef@domain: lower-case hex, because some mail servers lower-case the local part.
REPLY_TAG = re.compile(r"\+r(\d{1,12})\.([0-9a-f]{16})@", re.IGNORECASE)


class ProfileLinkUsed(signing.BadSignature):
    """The link was good, but a save has been made through this customer's links since it was sent."""


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_token(*, recipient_key: str) -> str:
    return signing.dumps({"r": recipient_key}, salt=UNSUBSCRIBE_SALT, compress=True)


def recipient_from_unsubscribe_token(token: str) -> str:
    """The recipient key ("c:<id>"); raises signing.BadSignature for a forged token.

    Unsubscribe links do not expire: an old email must still let someone leave.
    """
    return signing.loads(token, salt=UNSUBSCRIBE_SALT)["r"]


def profile_generation(customer_id: int) -> int:
    """How many times this customer's links have been used: a link carries the number it was made at."""
    from automations.models import ProfileLinkEvent

    return ProfileLinkEvent.objects.filter(customer_id=customer_id, kind__in=ProfileLinkEvent.USING).count()


def profile_token(*, customer_id: int, generation: int | None = None) -> str:
    if generation is None:
        generation = profile_generation(customer_id)
    return signing.dumps({"c": customer_id, "n": generation}, salt=PROFILE_SALT, compress=True)


def customer_id_from_profile_token(token: str, max_age: int = PROFILE_MAX_AGE) -> int:
    """Raises signing.SignatureExpired (too old), ProfileLinkUsed (used for a save) or signing.BadSignature (forged)."""
    payload = signing.loads(token, salt=PROFILE_SALT, max_age=max_age)
    customer_id = int(payload["c"])
    if int(payload.get("n", -1)) != profile_generation(customer_id):
        raise ProfileLinkUsed("This link has been used.")
    return customer_id


def profile_confirm_token(*, customer_id: int, changes: dict) -> str:
    """A link to confirm an email or consent change; made after the save it belongs to, so it works once."""
    payload = {"c": customer_id, "n": profile_generation(customer_id), "x": changes}
    return signing.dumps(payload, salt=PROFILE_CONFIRM_SALT, compress=True)


def profile_confirm_from_token(token: str) -> tuple[int, dict]:
    """(customer id, changes); raises SignatureExpired, ProfileLinkUsed or BadSignature like a profile link."""
    payload = signing.loads(token, salt=PROFILE_CONFIRM_SALT, max_age=PROFILE_CONFIRM_MAX_AGE)
    customer_id = int(payload["c"])
    if int(payload.get("n", -1)) != profile_generation(customer_id):
        raise ProfileLinkUsed("This link has been used.")
    changes = payload["x"]
    if not isinstance(changes, dict):
        raise signing.BadSignature("No changes in this link.")
    return customer_id, changes


def unsubscribe_url(*, recipient_key: str) -> str:
    """Absolute URL of the one-click unsubscribe (automations:unsubscribe) for this recipient."""
    return _absolute(reverse("automations:unsubscribe", args=[unsubscribe_token(recipient_key=recipient_key)]))


def profile_url(*, customer_id: int) -> str:
    """Absolute URL of the customer's own profile page (community:profile), for every email's footer."""
    return _absolute(reverse("community:profile", args=[profile_token(customer_id=customer_id)]))


def profile_confirm_url(*, token: str) -> str:
    return _absolute(reverse("community:profile_confirm", args=[token]))


def _reply_signature(customer_id: int) -> str:
    return salted_hmac(REPLY_SALT, str(customer_id)).hexdigest()[:16]


def reply_address(*, customer_id: int) -> str:
    """The Reply-To of a customer's emails: the reply mailbox tagged with their signed id."""
    mailbox = settings.REPLY_TO_EMAIL or parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "hello@rapport.invalid"
    local, _, domain = mailbox.rpartition("@")
    return f"{local.split('+')[0]}+r{customer_id}.{_reply_signature(customer_id)}@{domain}"


def customer_id_from_reply_address(address: str) -> int | None:
    """The customer id tagged in a reply address, or None if there is none or its signature is wrong."""
    found = REPLY_TAG.search(address or "")
    if not found:
        return None
    customer_id = int(found.group(1))
    return customer_id if constant_time_compare(found.group(2).lower(), _reply_signature(customer_id)) else None
