"""The community panel on the friend card: their upcoming events, and changes they made themselves."""

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from community.models import Invitation
from community.services import PROFILE_CHANGE_REASON
from customers.models import Customer


def _upcoming_invitations(customer_id: int, now) -> list[Invitation]:
    return list(
        Invitation.objects.filter(customer_id=customer_id, event__ends_at__gte=now)
        .select_related("event").only("answer", "guests", "event__title", "event__starts_at")
        .order_by("event__starts_at")[:5]
    )


def _own_changes(customer_id: int) -> list:
    # The history model's own manager: Customer.history's queryset costs more to build on each card.
    return list(
        Customer.history.model.objects.filter(id=customer_id, history_change_reason=PROFILE_CHANGE_REASON)
        .order_by("-history_date").values_list("history_date", flat=True)[:3]
    )


def card_panel_context(request, customer: Customer) -> dict:
    """Two queries, run when the panel is drawn: their upcoming invitations, the changes they made themselves."""
    now = timezone.now()
    return {
        "customer": customer,
        "invitations": SimpleLazyObject(lambda: _upcoming_invitations(customer.pk, now)),
        "own_changes": SimpleLazyObject(lambda: _own_changes(customer.pk)),
    }
