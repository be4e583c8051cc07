"""Reads for gift pages and the friend-card panel; each runs a fixed number of queries."""

from datetime import date

from customers.models import Customer
from customers.registry import card_has
from gifts.models import GiftCode

PANEL_LIMIT = 20


# The card's panel (20) and its timeline (first page: 10 entries + 1) both want the newest codes.
SHARED_LIMIT = 21


# What the card's panel and timeline show of a code: the joined users' and product's other columns
# (passwords, flags, dates) cost reading and compiling on every card.
CARD_GIFT_FIELDS = (
    "customer_id",
    "code",
    "kind",
    "value",
    "issued_at",
    "expires_on",
    "source",
    "redeemed_at",
    "product__name",
    *(f"{user}__{name}" for user in ("redeemed_by", "issued_by") for name in ("first_name", "last_name", "username")),
)


# Registered as card rows (GiftsConfig.ready): most customers have no gift code.
GIFT_CODES = "gift_codes"


def newest_gift_codes(*, customer: Customer, limit: int) -> list[GiftCode]:
    """The customer's newest codes, newest first; the friend card's panel and timeline share one query.

    The rows are kept on this customer object (one request's), so asking again costs nothing.
    """
    if not card_has(customer, GIFT_CODES):
        return []
    fetched = customer.__dict__.get("_newest_gift_codes")
    if fetched is None or fetched[0] < limit:
        rows = list(
            GiftCode.objects.filter(customer_id=customer.pk)
            .select_related("product", "redeemed_by", "issued_by")
            .only(*CARD_GIFT_FIELDS)
            .order_by("-issued_at", "-pk")[: max(limit, SHARED_LIMIT)]
        )
        fetched = customer.__dict__["_newest_gift_codes"] = (max(limit, SHARED_LIMIT), rows)
    return fetched[1][:limit]


def gift_codes_for_card(*, customer: Customer, today: date, limit: int = PANEL_LIMIT) -> dict:
    """The customer's most recent codes split into active / expired / redeemed (one query, shared)."""
    gifts = newest_gift_codes(customer=customer, limit=limit)
    groups: dict[str, list[GiftCode]] = {"active": [], "expired": [], "redeemed": []}
    for gift in gifts:
        groups[gift.status_on(today)].append(gift)
    groups["active"].sort(key=lambda g: g.expires_on)  # the one that runs out first on top
    return {**groups, "past_count": len(groups["expired"]) + len(groups["redeemed"])}
