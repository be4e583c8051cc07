"""Reads for gift pages and the friend-card panel; each runs a fixed number of queries."""

from datetime import date

from customers.models import Customer
from gifts.models import GiftCode

PANEL_LIMIT = 20


def gift_codes_for_card(*, customer: Customer, today: date, limit: int = PANEL_LIMIT) -> dict:
    """The customer's most recent codes split into active / expired / redeemed (one query)."""
    gifts = list(
        GiftCode.objects.filter(customer=customer)
        .select_related("product", "redeemed_by")
        .order_by("-issued_at", "-pk")[:limit]
    )
    groups: dict[str, list[GiftCode]] = {"active": [], "expired": [], "redeemed": []}
    for gift in gifts:
        groups[gift.status_on(today)].append(gift)
    groups["active"].sort(key=lambda g: g.expires_on)  # the one that runs out first on top
    return {**groups, "past_count": len(groups["expired"]) + len(groups["redeemed"])}
