"""Panels other apps add to the friend card (gift codes, history…) without this app importing them.

Register in AppConfig.ready():
    register_card_panel(CardPanel(name="gifts", template="gifts/includes/_card_panel.html",
                                  context=lambda request, customer: {...}, order=30))
Each panel's context function must run a fixed number of queries.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CardPanel:
    name: str
    template: str
    context: Callable[[Any, Any], dict]
    order: int = 50
    column: str = "side"  # "side" (narrow column) or "main" (under the timeline)
    # Kept in the card's versioned cache (customers/card_cache.py): only for HTML that depends on the
    # customer's data and the day alone (no form, no CSRF token, nothing of the viewer), whose app
    # calls card_changed() whenever that data changes.
    cached: bool = False


_panels: dict[str, CardPanel] = {}


def register_card_panel(panel: CardPanel) -> CardPanel:
    _panels[panel.name] = panel
    return panel


def card_panels_for(request, customer) -> list[dict]:
    """[{"panel": CardPanel, "ctx": {...}}] in display order, for the friend card template."""
    return [
        {"panel": panel, "ctx": panel.context(request, customer)}
        for panel in sorted(_panels.values(), key=lambda p: (p.order, p.name))
    ]
