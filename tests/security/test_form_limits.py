"""Every limited field of every form, at its limits and one past them (issue 15).

Through the real pages: at a limit the page accepts it; one past, the page answers 400 with the
reason next to the field, nothing is saved, and nothing answers 500. The limits themselves are
declared once (crm.validators, the models, the shop settings); this walks them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from automations.models import Automation, MessageTemplate, OutboundMessage
from community.models import Event, Newsletter, Segment
from crm.models import ShopSettings
from customers.models import Customer, FollowUp, ImportantDate
from gifts.models import GiftCode
from tests.factories import (
    CustomerFactory,
    EventFactory,
    InvitationFactory,
    SegmentFactory,
)
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@dataclass
class Page:
    """A form's page: where to post, who posts, a valid submission, and what a save would change."""

    url: Callable[[dict], str]
    role: str
    base: Callable[[dict], dict]
    saved: Callable[[dict], object]
    prefix: str = ""


def _customer_row(w):
    return list(Customer.objects.filter(pk=w["customer"].pk).values())


PAGES = {
    "customer": Page(
        lambda w: reverse("customers:update", args=[w["customer"].pk]),
        "staff",
        lambda w: {"first_name": "Ada", "last_name": "Lovelace", "birthday_day": "1", "birthday_month": "1"},
        _customer_row,
    ),
    "important_date": Page(
        lambda w: reverse("customers:date_add", args=[w["customer"].pk]),
        "staff",
        lambda w: {"label": "Wedding", "day": "14", "month": "6"},
        lambda w: ImportantDate.objects.count(),
    ),
    "followup": Page(
        lambda w: reverse("customers:followup_create", args=[w["customer"].pk]),
        "staff",
        lambda w: {"reason": "Call", "due_date": TODAY().isoformat()},
        lambda w: FollowUp.objects.count(),
    ),
    "touchpoint": Page(
        lambda w: reverse("touchpoints:create", args=[w["customer"].pk]),
        "staff",
        lambda w: {"kind": "purchase", "amount": "10"},
        lambda w: Touchpoint.objects.count(),
    ),
    "shop": Page(
        lambda w: reverse("shop:settings"),
        "owner",
        lambda w: {
            "name": "Shop",
            "postal_address": "",
            "time_zone": "Europe/London",
            "currency": "GBP",
            "phone_region": "GB",
            "default_cadence_days": "60",
            "opened_on": "2000-01-01",
            "max_amount": "10000",
        },
        lambda w: list(ShopSettings.objects.values()),
    ),
    "automation": Page(
        lambda w: reverse("automations:automation_save", args=["birthday"]),
        "owner",
        lambda w: {"enabled": "on", "days": "3", "code_kind": "percent", "code_value": "10", "code_valid_days": "30"},
        lambda w: list(Automation.objects.values()),
        prefix="birthday",
    ),
    "loyalty": Page(
        lambda w: reverse("automations:automation_save", args=["loyalty"]),
        "owner",
        lambda w: {"enabled": "on", "every_k": "5", "code_kind": "amount", "code_value": "5", "code_valid_days": "30"},
        lambda w: list(Automation.objects.values()),
        prefix="loyalty",
    ),
    "template": Page(
        lambda w: reverse("automations:template_edit", args=["thankyou"]),
        "owner",
        lambda w: {"subject": "Thanks {preferred_name}", "body_text": "Hi {preferred_name}"},
        lambda w: list(MessageTemplate.objects.values()),
    ),
    "newsletter": Page(
        lambda w: reverse("community:newsletter_create"),
        "owner",
        lambda w: {"subject": "News", "body": "Hello", "segment": w["segment"].pk},
        lambda w: Newsletter.objects.count(),
    ),
    "event": Page(
        lambda w: reverse("community:event_create"),
        "owner",
        lambda w: {
            "title": "Tasting",
            "starts_at": f"{TODAY() + timedelta(days=30)}T10:00",
            "ends_at": f"{TODAY() + timedelta(days=30)}T12:00",
            "capacity": "10",
            "max_guests": "2",
        },
        lambda w: Event.objects.count(),
    ),
    "segment": Page(
        lambda w: reverse("community:segment_create"),
        "owner",
        lambda w: {"name": "Wine lovers"},
        lambda w: Segment.objects.count(),
    ),
    "gift": Page(
        lambda w: reverse("gifts:issue", args=[w["customer"].pk]),
        "staff",
        lambda w: {"kind": "amount", "value": "5", "valid_days": "30"},
        lambda w: GiftCode.objects.count(),
        prefix="gift",
    ),
    "rsvp": Page(
        lambda w: w["rsvp"],
        "anonymous",
        lambda w: {"coming": "yes", "guests": "0"},
        lambda w: list(w["invitation"].__class__.objects.values("answer", "guests")),
    ),
    "profile": Page(
        lambda w: w["profile"],
        "anonymous",
        lambda w: {"preferred_name": "Ada", "birthday_day": "1", "birthday_month": "1"},
        # A new address is confirmed by an email first: the outbox row is what that save changes.
        lambda w: (_customer_row(w), OutboundMessage.objects.count()),
    ),
}

LONG = "x"


def _years_on(day, years: int):
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


EVENT_DAY = TODAY() + timedelta(days=30)
LAST_EVENT_DAY = _years_on(TODAY(), 5)


def n(count: int) -> str:
    return LONG * count


# (page, field, value at the limit, value one past it, what the page says one past it)
LIMITS = [
    ("customer", "first_name", n(100), n(101), "at most 100 characters"),
    ("customer", "last_name", n(100), n(101), "at most 100 characters"),
    ("customer", "preferred_name", n(100), n(101), "at most 100 characters"),
    ("customer", "how_we_met", n(200), n(201), "at most 200 characters"),
    ("customer", "notes", n(10_000), n(10_001), "at most 10000 characters"),
    ("customer", "cadence_days", "1", "0", "between 1 and 3,650"),
    ("customer", "cadence_days", "3650", "3651", "between 1 and 3,650"),
    ("customer", "cadence_days", "3650", "1000000000", "between 1 and 3,650"),
    ("customer", "birthday_day", "31", "32", "31"),
    ("customer", "birthday_year", "1900", "1899", "between 1900 and this year"),
    ("customer", "birthday_year", str(TODAY().year), str(TODAY().year + 1), "between 1900 and this year"),
    ("customer", "first_name", "Ada", "Ada\r\nBcc: x", "one line"),
    ("important_date", "label", n(100), n(101), "at most 100 characters"),
    ("important_date", "day", "30", "32", "31"),
    ("important_date", "year", "1900", "1899", "between 1900 and this year"),
    ("followup", "reason", n(200), n(201), "at most 200 characters"),
    ("touchpoint", "note", n(2000), n(2001), "at most 2000 characters"),
    ("touchpoint", "amount", "10000", "10000.01", "largest amount"),
    ("touchpoint", "amount", "0", "-0.01", "greater than or equal to 0"),
    ("touchpoint", "happened_at", "2000-01-01T12:00", "1999-12-31T12:00", "before the shop opened"),
    ("touchpoint", "happened_at", "2000-01-01T12:00", "1900-01-01T10:00", "before the shop opened"),
    (
        "touchpoint",
        "happened_at",
        (timezone.localtime() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
        (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "in the future",
    ),
    ("shop", "default_cadence_days", "1", "0", "between 1 and 3,650"),
    ("shop", "default_cadence_days", "3650", "3651", "between 1 and 3,650"),
    ("shop", "max_amount", "1", "0.99", "greater than or equal to 1"),
    ("shop", "max_amount", "99999999", "100000000", "no more than 8 digits"),
    ("shop", "opened_on", "1900-01-01", "1899-12-31", "greater than or equal to 1900-01-01"),
    ("shop", "opened_on", TODAY().isoformat(), (TODAY() + timedelta(days=1)).isoformat(), "already come"),
    ("shop", "name", n(120), n(121), "at most 120 characters"),
    ("shop", "postal_address", n(500), n(501), "at most 500 characters"),
    ("automation", "days", "365", "366", "at most 365"),
    ("automation", "days", "0", "-1", "greater than or equal to 0"),
    ("automation", "code_valid_days", "3650", "3651", "less than or equal to 3650"),
    ("automation", "code_valid_days", "1", "0", "greater than or equal to 1"),
    ("automation", "code_value", "100", "100.01", "at most 100"),
    ("loyalty", "every_k", "1000", "1001", "less than or equal to 1000"),
    ("loyalty", "every_k", "1", "0", "1 or more"),
    ("loyalty", "code_value", "10000", "10000.01", "largest amount"),
    ("template", "subject", n(200), n(201), "at most 200 characters"),
    ("template", "subject", "Thanks", "Thanks\r\nBcc: x@evil.example", "line break"),
    ("template", "body_text", n(10_000), n(10_001), "at most 10000 characters"),
    ("newsletter", "subject", n(150), n(151), "at most 150 characters"),
    ("newsletter", "subject", "News", "News\nBcc: x@evil.example", "line break"),
    ("newsletter", "body", n(10_000), n(10_001), "at most 10000 characters"),
    ("event", "title", n(150), n(151), "at most 150 characters"),
    ("event", "title", "Tasting", "Tasting\r\nBcc: x@evil.example", "line break"),
    ("event", "capacity", "1", "0", "at least one seat"),
    ("event", "capacity", "10000", "10001", "less than or equal to 10000"),
    ("event", "max_guests", "20", "21", "less than or equal to 20"),
    ("event", "description", n(10_000), n(10_001), "at most 10000 characters"),
    ("event", "starts_at", "2000-01-01T10:00", "1999-12-31T10:00", "before the shop opened"),
    ("event", "starts_at", "2000-01-01T10:00", "1900-01-01T10:00", "before the shop opened"),
    (
        "event",
        "ends_at",
        f"{LAST_EVENT_DAY}T23:00",
        f"{LAST_EVENT_DAY + timedelta(days=1)}T10:00",
        "at most 5 years ahead",
    ),
    ("event", "ends_at", f"{LAST_EVENT_DAY}T23:00", "9999-12-31T23:59", "at most 5 years ahead"),
    ("event", "ends_at", f"{EVENT_DAY}T10:01", f"{EVENT_DAY}T10:00", "end after it starts"),
    ("event", "ends_at", f"{EVENT_DAY}T10:01", f"{EVENT_DAY}T09:00", "end after it starts"),
    ("segment", "name", n(100), n(101), "at most 100 characters"),
    ("gift", "valid_days", "3650", "3651", "less than or equal to 3650"),
    ("gift", "value", "10000", "10000.01", "at most 10,000"),
    ("rsvp", "guests", "3", "4", "less than or equal to 3"),
    ("profile", "preferred_name", n(100), n(101), "at most 100 characters"),
    ("profile", "preferred_name", "Ada", "Ada\r\nBcc: x", "one line"),
    ("profile", "birthday_day", "31", "32", "not one of the available choices"),
    ("profile", "birthday_month", "12", "13", "not one of the available choices"),
    ("profile", "birthday_year", "1900", "1899", "greater than or equal to 1900"),
    ("profile", "birthday_year", str(TODAY().year), str(TODAY().year + 1), "between 1900 and this year"),
    (
        "profile",
        "email",
        f"{n(64)}@{n(60)}.{n(60)}.{n(63)}.com",
        f"{n(64)}@{n(61)}.{n(60)}.{n(63)}.com",
        "at most 254 characters",
    ),
]


@pytest.fixture
def world(db, client, owner, staff):
    customer = CustomerFactory(first_name="Ada", last_name="Lovelace")
    event = EventFactory(max_guests=3, capacity=50)
    invitation = InvitationFactory(event=event, customer=customer)
    from automations.links import profile_url
    from automations.services import automations_all, template_get
    from community.links import rsvp_url

    template_get("thankyou")  # made on first use: made here so that "nothing saved" compares like with like
    automations_all()  # the settings page makes every automation's row on first view

    return {
        "client": client,
        "owner": owner,
        "staff": staff,
        "customer": customer,
        "segment": SegmentFactory(),
        "invitation": invitation,
        "rsvp": _path(rsvp_url(invitation_id=invitation.pk)),
        "profile": _path(profile_url(customer_id=customer.pk)),
    }


def _path(url: str) -> str:
    """The path of an absolute link (the test client posts to paths)."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def said(html: str) -> str:
    """The messages the page shows next to fields and on top (what the person reads)."""
    import re

    found = re.findall(
        r'class="[^"]*(?:invalid-feedback|errorlist|alert-danger|text-danger)[^"]*"[^>]*>(.*?)</', html, re.DOTALL
    )
    return " | ".join(" ".join(re.sub(r"<[^>]+>", " ", f).split()) for f in found)


def _post(world, page: Page, data: dict):
    client = world["client"]
    if page.role != "anonymous":
        client.force_login(world[page.role])
    if page.prefix:
        data = {f"{page.prefix}-{name}": value for name, value in data.items()}
    return client.post(page.url(world), data)


@pytest.mark.parametrize(
    "page_name, field, at_limit, past_limit, says",
    LIMITS,
    ids=[f"{p}.{f}={past[:12]!r}" for p, f, _, past, _ in LIMITS],
)
def test_a_field_takes_its_limit_and_refuses_one_past_it_saying_why(
    world, page_name, field, at_limit, past_limit, says
):
    page = PAGES[page_name]
    before = page.saved(world)
    refused = _post(world, page, {**page.base(world), field: past_limit})
    assert refused.status_code == 400, refused.status_code
    html = refused.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert says in html, f"the page does not say “{says}”; it says: {said(html)[:300]}"
    assert page.saved(world) == before, "one past the limit, something was saved"

    accepted = _post(world, page, {**page.base(world), field: at_limit})
    assert accepted.status_code in (200, 302), accepted.status_code
    assert page.saved(world) != before or page_name in ("automation", "loyalty", "rsvp"), "the limit was refused"
