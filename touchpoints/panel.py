"""The friend card's "Log a touchpoint" panel (registered in TouchpointsConfig.ready)."""

from typing import Any

from django.utils.functional import SimpleLazyObject

from customers.models import Customer
from customers.selectors import active_product_names
from touchpoints.forms import TouchpointForm


def card_panel_context(request: Any, customer: Customer) -> dict:
    """An empty form and the product suggestions; a view re-showing the card passes its bound form instead."""
    # Both are read only when the card's cache lacks them (customers.card_cache.LOG_FORM, PRODUCT_NAMES).
    return {"form": SimpleLazyObject(TouchpointForm), "product_names": SimpleLazyObject(active_product_names)}
