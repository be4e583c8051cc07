"""The dashboard's charts draw in a real browser (CSP on), and the rings page looks right."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from dashboard.models import DailySnapshot
from dashboard.services import daily_snapshot_take, dashboard_backfill, ring_snapshot_take
from tests.e2e.conftest import has_no_sideways_scroll, log_in, screenshot
from tests.factories import CustomerFactory, FollowUpFactory, StaffFactory, TouchpointFactory

pytestmark = pytest.mark.django_db(transaction=True)

KINDS = ["visit", "purchase", "call", "message", "feedback"]


@pytest.fixture
def small_shop(owner):
    """A few weeks of varied activity, daily health snapshots and rings for the owner to look at."""
    now = timezone.now()
    sam = StaffFactory(first_name="Sam", last_name="Patel")
    names = [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Mary Somerville",
        "Nikola Tesla",
        "Rosalind Franklin",
        "Carl Gauss",
        "Emmy Noether",
        "Srinivasa Ramanujan",
        "Hedy Lamarr",
        "Marie Curie",
        "Isaac Newton",
    ]
    people = []
    for i, name in enumerate(names):
        first, last = name.split()
        c = CustomerFactory(
            first_name=first,
            last_name=last,
            owner=sam if i % 2 else owner,
            birthday_day=(timezone.localdate() + timedelta(days=i)).day,
            birthday_month=(timezone.localdate() + timedelta(days=i)).month,
            referred_by=people[0] if i in (3, 4, 5) else None,
        )
        people.append(c)
        for j in range(12 - i):
            kind = KINDS[(i + j) % len(KINDS)]
            TouchpointFactory(
                customer=c,
                logged_by=sam if j % 3 else owner,
                kind=kind,
                happened_at=now - timedelta(days=3 * j + i, hours=2),
                amount=Decimal("12.50") if kind == "purchase" else None,
                feedback_kind="praise" if kind == "feedback" and j % 2 else ("complaint" if kind == "feedback" else ""),
                sentiment=(1 if j % 2 else -1) if kind == "feedback" else None,
            )
        FollowUpFactory(
            customer=c, due_date=timezone.localdate() - timedelta(days=i * 3), status="done" if i % 3 else "open"
        )
    from touchpoints.figures import customer_figures_recompute_all

    customer_figures_recompute_all(now=now)
    # make two of them drift: warm a month ago, cooling now
    Customer.objects.filter(pk__in=[people[10].pk, people[11].pk]).update(
        last_touchpoint_at=now - timedelta(days=75), health=Customer.Health.COOLING
    )
    today = timezone.localdate()
    for d in range(30, 0, -1):
        DailySnapshot.objects.create(
            day=today - timedelta(days=d),
            warm=6 + d % 4,
            cooling=3 + d % 3,
            cold=2,
            buyers=10,
            repeat_buyers=6 + d % 2,
            revenue_total=500,
            revenue_repeat=400,
            taken_at=now,
        )
    daily_snapshot_take(day=today, now=now)
    ring_snapshot_take(day=today - timedelta(days=7))
    # since last week Ada has gone quiet: she slips out of the closest 5
    Customer.objects.filter(pk=people[0].pk).update(closeness=0)
    dashboard_backfill(start=today - timedelta(days=45), end=today)
    return people


def _charts_have_drawn(page) -> bool:
    """Every chart canvas exists, has a size, was rendered and has non-blank pixels."""
    return page.evaluate(
        """() => {
          const canvases = [...document.querySelectorAll('canvas[data-chart]')];
          return canvases.length === 8 && canvases.every((c) => {
            if (c.dataset.rendered !== 'true' || c.width === 0 || c.height === 0) return false;
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
            return false;
          });
        }"""
    )


def test_the_dashboards_charts_draw_on_a_laptop_and_a_phone_and_its_controls_work(page, phone_page, owner, small_shop):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, owner)
    page.goto("/dashboard/")
    page.wait_for_function("document.querySelectorAll('canvas[data-rendered=true]').length === 8")
    page.wait_for_timeout(400)  # let the short draw animation finish before the screenshot
    assert _charts_have_drawn(page)
    assert not errors, errors  # no CSP violations or script errors
    # the table behind a chart's toggle
    page.locator("details.chart-table summary").first.click()
    assert page.locator("details.chart-table table").first.is_visible()
    screenshot(page, "dashboard_laptop")

    # one click opens a follow-up for someone drifting away
    page.locator("#drifting button", has_text="Follow up").first.click()
    page.wait_for_load_state()
    assert "added to" in page.locator(".alert").first.inner_text()
    assert page.locator("#drifting", has_text="Follow-up open").count() == 1
    # choosing another period reloads the page with it
    page.select_option("#period", "26")
    page.wait_for_url("**/dashboard/?weeks=26")
    assert page.locator("#period").input_value() == "26"

    log_in(phone_page, owner)
    phone_page.goto("/dashboard/?weeks=4")
    phone_page.wait_for_function("document.querySelectorAll('canvas[data-rendered=true]').length === 8")
    phone_page.wait_for_timeout(400)
    assert _charts_have_drawn(phone_page)
    assert has_no_sideways_scroll(phone_page)
    screenshot(phone_page, "dashboard_phone")


def test_the_rings_page_on_a_laptop_and_a_phone(page, phone_page, owner, small_shop):
    log_in(page, owner)
    page.goto("/dashboard/rings/")
    assert page.locator("svg.rings-svg a").count() == 12
    assert "Ada Lovelace" in page.locator("#slipping").inner_text()
    screenshot(page, "rings_laptop")
    page.locator("svg.rings-svg a").first.click()
    page.wait_for_url("**/customers/*/")

    log_in(phone_page, owner)
    phone_page.goto("/dashboard/rings/?scope=mine")
    assert phone_page.locator("svg.rings-svg a").count() == 6
    assert has_no_sideways_scroll(phone_page)
    screenshot(phone_page, "rings_phone")
