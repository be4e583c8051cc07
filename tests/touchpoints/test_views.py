from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from customers.models import Customer, Product
from tests.factories import CustomerFactory, ProductFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


def _log(client, customer, htmx=True, **data):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("touchpoints:create", args=[customer.pk]), data, **headers)


def test_a_plain_visit_needs_only_the_kind(staff_client, staff):
    customer = CustomerFactory()

    response = _log(staff_client, customer, kind="visit")

    touchpoint = Touchpoint.objects.get()
    assert response.status_code == 200
    assert touchpoint.kind == "visit" and touchpoint.logged_by == staff
    customer.refresh_from_db()
    assert customer.last_touchpoint_at == touchpoint.happened_at


def test_the_htmx_answer_carries_the_new_entry_for_the_top_of_the_timeline(staff_client):
    customer = CustomerFactory()

    html = _log(staff_client, customer, kind="note", note="Loves jazz").content.decode()

    assert 'data-hx-swap-oob="afterbegin:#timeline-entries"' in html
    assert "Loves jazz" in html
    assert 'id="tp-note"' in html and 'value="Loves jazz"' not in html  # a fresh form
    assert 'id="card-figures"' in html  # the figures are refreshed out of band too


def test_without_javascript_logging_redirects_back_to_the_card(staff_client):
    customer = CustomerFactory()

    response = _log(staff_client, customer, htmx=False, kind="visit")

    assert response.status_code == 302 and response.url == reverse("customers:detail", args=[customer.pk])


def test_a_purchase_records_amount_and_products_and_adds_a_missing_product(staff_client):
    customer = CustomerFactory()
    ProductFactory(name="Scone")

    _log(staff_client, customer, kind="purchase", amount="12.50", products="scone, Lemon tart")

    touchpoint = Touchpoint.objects.get()
    assert touchpoint.amount == Decimal("12.50")
    assert sorted(touchpoint.products.values_list("name", flat=True)) == ["Lemon tart", "Scone"]
    assert Product.objects.count() == 2
    customer.refresh_from_db()
    assert customer.purchase_count == 1 and customer.lifetime_spend == Decimal("12.50")


def test_feedback_records_its_kind_and_sentiment(staff_client):
    customer = CustomerFactory()

    _log(staff_client, customer, kind="feedback", feedback_kind="praise", sentiment="1", note="Lovely cake")

    touchpoint = Touchpoint.objects.get()
    assert (touchpoint.feedback_kind, touchpoint.sentiment) == ("praise", 1)


def test_an_earlier_time_is_read_in_the_shops_time_zone(staff_client):
    customer = CustomerFactory()  # the shop is in Europe/London: 10:30 in July is 09:30 UTC

    with time_machine.travel(datetime(2026, 7, 10, 12, tzinfo=UTC), tick=False):
        _log(staff_client, customer, kind="call", happened_at="2026-07-09T10:30")

    assert Touchpoint.objects.get().happened_at == datetime(2026, 7, 9, 9, 30, tzinfo=UTC)


def test_bad_input_is_a_400_with_field_errors_and_nothing_is_saved(staff_client):
    customer = CustomerFactory()
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    cases = [
        ({"kind": "dance"}, "kind"),
        ({"kind": "purchase", "amount": "-3"}, "amount"),
        ({"kind": "purchase"}, "amount"),
        ({"kind": "feedback"}, "feedback_kind"),
        ({"kind": "visit", "happened_at": future}, "happened_at"),
        ({"kind": "visit", "happened_at": "yesterday-ish"}, "happened_at"),
    ]
    for data, field in cases:
        response = _log(staff_client, customer, **data)
        assert response.status_code == 400, data
        assert field in response.context["touchpoint_form"].errors, data
    response = _log(staff_client, customer, htmx=False, kind="feedback")
    assert response.status_code == 400 and "feedback_kind" in response.context["touchpoint_form"].errors
    # The card is drawn again with the log panel showing this form, not an empty one.
    html = response.content.decode()
    assert 'form-select-sm is-invalid" id="tp-feedback-kind"' in html
    assert 'id="kind-feedback" value="feedback" checked' in html

    assert not Touchpoint.objects.exists()
    customer.refresh_from_db()
    assert customer.last_touchpoint_at is None


def test_logging_only_accepts_post(staff_client):
    customer = CustomerFactory()
    assert staff_client.get(reverse("touchpoints:create", args=[customer.pk])).status_code == 405


def test_an_archived_customer_can_still_have_a_touchpoint_logged(staff_client):
    customer = CustomerFactory(is_archived=True)
    _log(staff_client, customer, kind="visit")
    assert Customer.objects.get(pk=customer.pk).last_touchpoint_at is not None


def test_each_timeline_entry_names_who_logged_it(staff, owner):
    from django.utils import timezone

    from customers.timeline import timeline_page
    from touchpoints.services import touchpoint_log

    customer = CustomerFactory()
    staff.first_name, staff.last_name = "Robin", "Ash"
    staff.save()
    for n, who in enumerate([staff, owner, None, staff]):
        touchpoint_log(
            customer=customer, logged_by=who, kind="note", note=f"n{n}", happened_at=timezone.now() - timedelta(hours=n)
        )

    entries = timeline_page(customer=customer).entries

    assert [(e.obj.note, e.obj.logged_by_name) for e in entries] == [
        ("n0", "Robin Ash"),
        ("n1", owner.get_full_name() or owner.username),
        ("n2", ""),
        ("n3", "Robin Ash"),
    ]


def test_entries_at_the_same_moment_are_not_lost_between_timeline_pages(staff):
    from django.utils import timezone

    from customers.timeline import timeline_page
    from touchpoints.services import touchpoint_log

    customer = CustomerFactory()
    moment = timezone.now() - timedelta(hours=1)
    for n in range(3):
        touchpoint_log(customer=customer, logged_by=staff, kind="note", note=f"same {n}", happened_at=moment)
    touchpoint_log(
        customer=customer, logged_by=staff, kind="note", note="earlier", happened_at=moment - timedelta(hours=1)
    )

    first = timeline_page(customer=customer, limit=2)
    second = timeline_page(customer=customer, before=first.older, limit=2)

    seen = [e.obj.note for e in first.entries + second.entries]
    assert sorted(seen) == sorted([f"same {n}" for n in range(3)] + ["earlier"])


def test_paging_through_many_entries_of_one_minute_from_several_sources_shows_each_once_in_order(staff):
    """Backdated to the same minute: 25 touchpoints, 12 gift codes and 12 emails at one moment."""
    from django.utils import timezone

    from automations.models import OutboundMessage
    from customers.registry import TimelineCursor
    from customers.timeline import timeline_page
    from gifts.models import GiftCode
    from tests.factories import GiftCodeFactory, OutboundMessageFactory

    customer = CustomerFactory()
    moment = (timezone.now() - timedelta(days=2)).replace(second=0, microsecond=0)
    Touchpoint.objects.bulk_create(
        Touchpoint(customer=customer, kind="visit", note=f"visit {n}", happened_at=moment) for n in range(25)
    )
    for _ in range(12):
        GiftCodeFactory(customer=customer)
        OutboundMessageFactory(customer=customer)
    GiftCode.objects.filter(customer=customer).update(issued_at=moment)
    OutboundMessage.objects.filter(customer=customer).update(planned_at=moment)
    Touchpoint.objects.create(customer=customer, kind="visit", note="later", happened_at=moment + timedelta(minutes=1))

    pages, cursor = [], None
    while True:
        page = timeline_page(customer=customer, before=cursor, limit=10)
        pages.append(page.entries)
        if page.older is None:
            break
        cursor = TimelineCursor.parse(page.older.param)  # as the "Older" link carries it

    seen = [(e.source, e.pk) for entries in pages for e in entries]
    assert len(seen) == len(set(seen)) == 50
    assert [len(entries) for entries in pages] == [10, 10, 10, 10, 10]
    order = [(e.at, e.source, e.pk) for entries in pages for e in entries]
    assert order == sorted(order, reverse=True) and pages[0][0].obj.note == "later"


def test_a_time_only_before_from_an_older_link_still_pages_by_time(staff_client):
    customer = CustomerFactory()
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    Touchpoint.objects.bulk_create(
        Touchpoint(customer=customer, kind="visit", note=f"n{h}", happened_at=now - timedelta(hours=h))
        for h in range(3)
    )

    response = staff_client.get(
        reverse("customers:detail", args=[customer.pk]), {"before": (now - timedelta(hours=1)).isoformat()}
    )

    assert [e.obj.note for e in response.context["timeline"].entries] == ["n2"]
    for forged in ("2026-05-01T10:00:00+00:00~tp~x", "2026-05-01T10:00:00+00:00~t p~3", "soon~tp~3"):
        assert staff_client.get(reverse("customers:detail", args=[customer.pk]), {"before": forged}).status_code == 404


def test_logging_a_visit_runs_the_same_queries_whoever_the_customer_is(staff_client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plain = CustomerFactory()
    referrer = CustomerFactory(purchase_count=3)
    regular = CustomerFactory(referred_by=referrer, purchase_count=5)  # a referred friend who has bought before
    Touchpoint.objects.bulk_create(
        Touchpoint(customer=regular, kind="purchase", amount=Decimal("5"), happened_at=datetime(2024, 1, d, tzinfo=UTC))
        for d in range(1, 21)
    )
    _log(staff_client, plain, kind="visit")  # warm-up: sessions, caches
    with CaptureQueriesContext(connection) as first:
        assert _log(staff_client, plain, kind="visit").status_code == 200

    with django_assert_max_num_queries(len(first)):
        assert _log(staff_client, regular, kind="visit").status_code == 200


def test_a_referred_friends_first_purchase_makes_the_referrer_an_advocate(staff_client):
    referrer = CustomerFactory()
    friend = CustomerFactory(referred_by=referrer)

    _log(staff_client, friend, kind="visit")
    referrer.refresh_from_db()
    assert referrer.stage == Customer.Stage.PROSPECT

    _log(staff_client, friend, kind="purchase", amount="10")
    referrer.refresh_from_db()
    assert referrer.stage == Customer.Stage.ADVOCATE


def test_naming_products_sends_the_new_names_to_the_suggestions_and_a_visit_does_not(staff_client):
    customer = CustomerFactory()

    with_products = _log(staff_client, customer, kind="purchase", amount="4", products="Rye loaf").content.decode()
    visit = _log(staff_client, customer, kind="visit").content.decode()

    assert 'id="tp-product-names" data-hx-swap-oob="true"' in with_products
    assert '<option value="Rye loaf">' in with_products
    assert "Rye loaf</span>" in with_products  # the new entry shows its product
    assert 'tp-product-names"' not in visit.replace('list="tp-product-names"', "")


def test_the_service_refuses_a_negative_amount_and_logs_nothing(staff):
    from django.core.exceptions import ValidationError

    from touchpoints.services import touchpoint_log

    customer = CustomerFactory()
    with pytest.raises(ValidationError) as error:
        touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=Decimal("-1"))

    assert "amount" in error.value.message_dict
    assert not Touchpoint.objects.exists()


def test_the_friend_card_suggests_the_shops_active_products_under_the_log_form(staff_client):
    customer = CustomerFactory()
    ProductFactory(name="Sourdough")
    ProductFactory(name="Old bun", is_active=False)

    html = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert '<datalist id="tp-product-names"><option value="Sourdough"></datalist>' in html


def test_a_backdated_visit_redraws_the_first_page_so_older_never_brings_it_twice(staff_client):
    import re

    from django.utils import timezone

    customer = CustomerFactory()
    now = timezone.now()
    Touchpoint.objects.bulk_create(
        Touchpoint(customer=customer, kind="visit", note=f"n{h:02d}", happened_at=now - timedelta(hours=h))
        for h in range(1, 16)
    )
    backdated = timezone.localtime(now - timedelta(hours=12, minutes=30)).strftime("%Y-%m-%dT%H:%M")

    response = _log(staff_client, customer, kind="visit", note="backdated", happened_at=backdated)

    html = response.content.decode()
    assert 'id="timeline-entries" data-hx-swap-oob="true"' in html and "afterbegin" not in html
    shown = re.findall(r'timeline-note text-break">([^<]+)<', html)
    assert shown == [f"n{h:02d}" for h in range(1, 11)]  # the first page, in order: it is further down
    older = re.search(r'data-hx-get="([^"]+\?before=[^"]+)"', html).group(1).replace("&amp;", "&")
    appended = staff_client.get(older, HTTP_HX_REQUEST="true").content.decode()
    notes = re.findall(r'timeline-note text-break">([^<]+)<', appended)
    assert notes == ["n11", "n12", "backdated", "n13", "n14", "n15"] and notes.count("backdated") == 1


def test_a_visit_logged_now_goes_on_top_without_redrawing_the_timeline(staff_client):
    customer = CustomerFactory()

    html = _log(staff_client, customer, kind="visit", note="just now").content.decode()

    assert 'data-hx-swap-oob="afterbegin:#timeline-entries"' in html and 'id="timeline-entries"' not in html
