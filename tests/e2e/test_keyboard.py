"""The counter flow by keyboard alone, with a focus ring that can be seen at every step."""

import pytest

from tests.e2e.conftest import log_in
from tests.factories import CustomerFactory
from touchpoints.models import Touchpoint

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FOCUSED = "document.activeElement"
RING = (
    "(() => { const s = getComputedStyle(document.activeElement);"
    " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 || s.boxShadow !== 'none'; })()"
)


def _tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until `selector` has the focus, checking each stop shows it has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        page.wait_for_timeout(200)  # Bootstrap eases the focus glow in over 150 ms
        assert page.evaluate(RING), f"no visible focus on {page.evaluate(FOCUSED + '.outerHTML')[:120]}"
        if page.evaluate(f"{FOCUSED}.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} not reached in {limit} Tabs")


def test_staff_find_a_customer_and_log_a_visit_and_a_purchase_without_a_mouse(page, staff):
    customer = CustomerFactory(first_name="Margaret", last_name="Thistlewood", owner=staff)
    log_in(page, staff)

    # Find: Tab into the search box, type, Enter for every match, Tab to the one, Enter.
    _tab_to(page, "#nav-search-q")
    page.keyboard.type("thistle")
    page.keyboard.press("Enter")
    page.wait_for_url("**/customers/search/**")
    _tab_to(page, f"main a[href='/customers/{customer.pk}/']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/customers/{customer.pk}/")

    # The card opens with the cursor in the note field: type, Enter, and the visit is logged.
    assert page.evaluate(f"{FOCUSED}.id") == "tp-note"
    page.keyboard.type("Popped in with the dog")
    page.keyboard.press("Enter")
    page.wait_for_selector("#timeline-entries li:has-text('Popped in with the dog')")

    # A purchase: Shift+Tab back to the kinds (the note keeps the focus after a log), arrows to Purchase.
    assert page.evaluate(f"{FOCUSED}.id") == "tp-note"
    for _ in range(15):
        page.keyboard.press("Shift+Tab")
        if page.evaluate(f"{FOCUSED}.name") == "kind":
            break
    assert page.evaluate(f"{FOCUSED}.name") == "kind" and page.evaluate(RING)
    for _ in range(10):
        if page.evaluate(f"{FOCUSED}.value") == "purchase":
            break
        page.keyboard.press("ArrowRight")
    assert page.evaluate(f"{FOCUSED}.value") == "purchase" and page.evaluate(RING)
    # Then the note, the amount (the purchase fields follow the Log button), and Enter sends it all.
    _tab_to(page, "#tp-note")
    page.keyboard.type("For the picnic")
    _tab_to(page, "#tp-amount")
    page.keyboard.type("7.40")
    page.keyboard.press("Enter")
    page.wait_for_selector("#timeline-entries li:has-text('For the picnic')")

    assert list(Touchpoint.objects.filter(customer=customer).order_by("pk").values_list("kind", "note")) == [
        ("visit", "Popped in with the dog"),
        ("purchase", "For the picnic"),
    ]
