"""The community panel on the friend card: their upcoming events, and changes they made themselves."""

from django.utils import timezone

from community.models import Invitation
from community.services import PROFILE_CHANGE_REASON
from customers.models import Customer


def card_panel_context(request, customer: Customer) -> dict:
    """Two queries, run when the panel is drawn (querysets stay lazy): invitations, own changes."""
    invitations = (
        Invitation.objects.filter(customer=customer, event__ends_at__gte=timezone.now())
        .select_related("event").only("answer", "guests", "event__title", "event__starts_at")
        .order_by("event__starts_at")[:5]
    )
    own_changes = (
        # The history model's own manager: Customer.history's queryset costs more to build on each card.
        Customer.history.model.objects.filter(id=customer.pk, history_change_reason=PROFILE_CHANGE_REASON)
        .order_by("-history_date").values_list("history_date", flat=True)[:3]
    )
    return {"customer": customer, "invitations": invitations, "own_changes": own_changes}
