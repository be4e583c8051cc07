"""The signed RSVP link in event invitations; each invitation has its own."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

RSVP_SALT = "rapport.rsvp"


def rsvp_token(*, invitation_id: int) -> str:
    return signing.dumps({"i": invitation_id}, salt=RSVP_SALT, compress=True)


def invitation_id_from_rsvp_token(token: str) -> int:
    """Raises signing.BadSignature for a forged or altered token.

    No age limit: the page itself closes answers once the event has started.
    """
    return int(signing.loads(token, salt=RSVP_SALT)["i"])


def rsvp_url(*, invitation_id: int) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("community:rsvp", args=[rsvp_token(invitation_id=invitation_id)])
