"""The community panel on the friend card: their upcoming events, and changes they made themselves."""

from django.db.models import DateTimeField, IntegerField
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from automations.models import ProfileLinkEvent
from community.models import Invitation
from crm.prepared import PreparedQuery
from customers.models import Customer

_upcoming_invitations = PreparedQuery(
    lambda customer_id, now: Invitation.objects.filter(customer_id=customer_id, event__ends_at__gte=now)
    .select_related("event").only("answer", "guests", "event__title", "event__starts_at")
    .order_by("event__starts_at")[:5],
    customer_id=IntegerField(), now=DateTimeField(),
)
def card_panel_context(request, customer: Customer) -> dict:
    """Two queries, run when the panel is drawn: their upcoming invitations, their own uses of the profile link."""
    now = timezone.now()
    return {
        "customer": customer,
        "invitations": SimpleLazyObject(lambda: _upcoming_invitations.fetch(customer_id=customer.pk, now=now)),
        # Each use of their profile link: saves, confirmations asked for and given, new links asked for.
        "own_changes": SimpleLazyObject(lambda: list(
            ProfileLinkEvent.objects.filter(customer_id=customer.pk).order_by("-created_at", "-pk")[:5]
        )),
    }
