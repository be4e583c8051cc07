"""The community panel on the friend card: their upcoming events, and changes they made themselves."""

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from automations.models import ProfileLinkEvent
from community.models import Invitation
from customers.models import Customer
from customers.registry import card_has

# Registered as card rows (CommunityConfig.ready): few customers were ever invited or used their profile link.
INVITATIONS, PROFILE_LINK_EVENTS = "invitations", "profile_link_events"


def _upcoming_invitations(customer_id: int, now) -> list[Invitation]:
    return list(
        Invitation.objects.filter(customer_id=customer_id, event__ends_at__gte=now)
        .select_related("event")
        .only("answer", "guests", "event__title", "event__starts_at")
        .order_by("event__starts_at")[:5]
    )


def _own_changes(customer_id: int) -> list[ProfileLinkEvent]:
    """Each use of their profile link: saves, confirmations asked for and given, new links asked for."""
    return list(ProfileLinkEvent.objects.filter(customer_id=customer_id).order_by("-created_at", "-pk")[:5])


def card_panel_context(request, customer: Customer) -> dict:
    """Two queries at most, run when the panel is drawn: their upcoming invitations, their own uses of the profile link."""
    now = timezone.now()
    return {
        "customer": customer,
        "invitations": SimpleLazyObject(
            lambda: _upcoming_invitations(customer.pk, now) if card_has(customer, INVITATIONS) else []
        ),
        "own_changes": SimpleLazyObject(
            lambda: _own_changes(customer.pk) if card_has(customer, PROFILE_LINK_EVENTS) else []
        ),
    }
