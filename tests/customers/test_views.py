from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, FollowUp, ImportantDate
from tests.factories import CustomerFactory, FollowUpFactory, ProductFactory, StaffFactory, TagFactory
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log

pytestmark = pytest.mark.django_db


def _pages(customer, followup, important):
    """Every page and action this app adds: (method, url)."""
    return [
        ("get", reverse("customers:my_day")),
        ("get", reverse("customers:my_followups")),
        ("get", reverse("customers:my_birthdays")),
        ("get", reverse("customers:list")),
        ("get", reverse("customers:create")),
        ("get", reverse("customers:search") + "?q=ada"),
        ("get", reverse("customers:detail", args=[customer.pk])),
        ("get", reverse("customers:update", args=[customer.pk])),
        ("post", reverse("customers:archive", args=[customer.pk])),
        ("post", reverse("customers:date_add", args=[customer.pk])),
        ("post", reverse("customers:date_remove", args=[customer.pk, important.pk])),
        ("post", reverse("customers:followup_create", args=[customer.pk])),
        ("post", reverse("customers:followup_action", args=[followup.pk, "done"])),
        ("post", reverse("touchpoints:create", args=[customer.pk])),
        ("get", reverse("shop:settings")),
    ]


def test_anonymous_visitors_are_sent_to_log_in_from_every_page(client):
    customer = CustomerFactory()
    followup = FollowUpFactory(customer=customer)
    important = ImportantDate.objects.create(customer=customer, label="x", date_day=1, date_month=1)

    for method, url in _pages(customer, followup, important):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url
    assert Customer.objects.get(pk=customer.pk).is_archived is False
    assert FollowUp.objects.get(pk=followup.pk).status == FollowUp.Status.OPEN


def test_an_unknown_customer_is_a_404(staff_client):
    for name in ("customers:detail", "customers:update"):
        assert staff_client.get(reverse(name, args=[999999])).status_code == 404
    assert staff_client.post(reverse("touchpoints:create", args=[999999]), {"kind": "visit"}).status_code == 404
    assert staff_client.post(reverse("customers:archive", args=[999999])).status_code == 404
    assert staff_client.post(reverse("customers:followup_action", args=[999999, "done"])).status_code == 404


def test_a_forged_follow_up_action_is_a_404_and_changes_nothing(staff_client):
    followup = FollowUpFactory()

    response = staff_client.post(reverse("customers:followup_action", args=[followup.pk, "delete"]))

    assert response.status_code == 404
    assert FollowUp.objects.get(pk=followup.pk).status == FollowUp.Status.OPEN


def test_a_timeline_link_with_a_broken_cursor_is_a_404(staff_client):
    customer = CustomerFactory()
    assert staff_client.get(reverse("customers:detail", args=[customer.pk]) + "?before=yesterday").status_code == 404


def test_the_friend_card_shows_what_a_friend_remembers(staff_client, staff):
    referrer = CustomerFactory(first_name="Rita", last_name="Referrer")
    customer = CustomerFactory(
        first_name="Margaret",
        preferred_name="Peggy",
        notes="Has a dog called Biscuit.",
        how_we_met="Opening day",
        referred_by=referrer,
        owner=staff,
        cadence_days=30,
        birthday_day=20,
        birthday_month=6,
        birthday_year=1986,
    )
    customer.favourite_products.add(ProductFactory(name="Oat latte"))
    customer.tags.add(TagFactory(name="local"))
    ImportantDate.objects.create(customer=customer, label="Wedding anniversary", date_day=14, date_month=9)
    FollowUpFactory(customer=customer, reason="Ask about the puppy", assignee=staff)
    touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=12, note="Cake for the office")

    with time_machine.travel(datetime(2026, 6, 8, 12, tzinfo=UTC), tick=False):
        response = staff_client.get(reverse("customers:detail", args=[customer.pk]))

    html = response.content.decode()
    for text in (
        "Peggy",
        "turns 40 in 12 days",
        "Has a dog called Biscuit.",
        "Opening day",
        "Rita Referrer",
        "Oat latte",
        "local",
        "Wedding anniversary",
        "Ask about the puppy",
        "every 30 days",
        "Cake for the office",
        "£12.00",
        "asked in person",
    ):
        assert text in html, text
    assert reverse("customers:detail", args=[referrer.pk]) in html
    assert f"<dt>Relationship owner</dt><dd>{staff.get_full_name() or staff.username}</dd>" in html


def test_a_card_with_no_owner_or_referrer_says_so_in_as_many_queries(staff_client):
    with_both = CustomerFactory(
        owner=StaffFactory(first_name="Olive", last_name="Owner"), referred_by=CustomerFactory()
    )
    nobody = CustomerFactory(owner=None, referred_by=None)
    staff_client.get(reverse("customers:detail", args=[CustomerFactory().pk]))  # the shop-wide parts cached
    pages = {}
    for customer in (with_both, nobody):
        with CaptureQueriesContext(connection) as queries:
            pages[customer] = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
        pages[customer, "queries"] = len(queries)

    assert "<dt>Relationship owner</dt><dd>Olive Owner</dd>" in pages[with_both]
    assert '<dt>Relationship owner</dt><dd><span class="text-body-secondary">nobody yet</span></dd>' in pages[nobody]
    assert "Referred by" in pages[with_both] and "Referred by" not in pages[nobody]
    assert pages[nobody, "queries"] == pages[with_both, "queries"]


def test_a_script_in_a_note_is_shown_as_text(staff_client, staff):
    customer = CustomerFactory(notes="<script>alert(1)</script>")
    touchpoint_log(customer=customer, logged_by=staff, kind="note", note="<script>alert(2)</script>")

    html = staff_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_the_timeline_is_newest_first_and_pages_with_an_older_link(staff_client, staff):
    customer = CustomerFactory()
    now = timezone.now()
    for n in range(25):
        touchpoint_log(
            customer=customer, logged_by=staff, kind="note", note=f"entry {n:02d}", happened_at=now - timedelta(hours=n)
        )
    card_url = reverse("customers:detail", args=[customer.pk])

    first = staff_client.get(card_url)
    entries = first.context["timeline"].entries
    assert [e.obj.note for e in entries] == [f"entry {n:02d}" for n in range(10)]
    older = first.context["timeline"].older

    # Without JavaScript "Older" opens the card on the next ten.
    second = staff_client.get(card_url, {"before": older.param})
    assert [e.obj.note for e in second.context["timeline"].entries] == [f"entry {n:02d}" for n in range(10, 20)]
    assert second.context["timeline"].older is not None

    # With htmx it appends the rest (up to 20 a time) and the last page has no "Older" button.
    appended = staff_client.get(card_url, {"before": older.param}, HTTP_HX_REQUEST="true")
    html = appended.content.decode()
    assert appended.status_code == 200 and "<html" not in html
    assert [e.obj.note for e in appended.context["timeline"].entries] == [f"entry {n:02d}" for n in range(10, 25)]
    assert 'id="timeline-older" data-hx-swap-oob="true"' in html and "Older" not in html


def test_staff_add_a_customer_with_only_a_first_name_and_become_the_owner(staff_client, staff):
    response = staff_client.post(reverse("customers:create"), {"first_name": "Ada", "owner": staff.pk})

    customer = Customer.objects.get()
    assert response.status_code == 302 and response.url == reverse("customers:detail", args=[customer.pk])
    assert customer.owner == staff and customer.created_by == staff


def test_the_add_form_offers_the_person_adding_as_the_owner(staff_client, staff):
    form = staff_client.get(reverse("customers:create")).context["form"]
    assert form.initial["owner"] == staff


def test_adding_with_30_february_shows_a_field_error_and_saves_nothing(staff_client):
    response = staff_client.post(
        reverse("customers:create"),
        {
            "first_name": "Ada",
            "birthday_day": "30",
            "birthday_month": "2",
        },
    )

    assert response.status_code == 400
    assert "February has no day 30." in response.context["form"].errors["birthday_day"]
    assert not Customer.objects.exists()


def test_adding_with_29_february_and_new_products_and_tags_works(staff_client):
    response = staff_client.post(
        reverse("customers:create"),
        {
            "first_name": "Leap",
            "birthday_day": "29",
            "birthday_month": "2",
            "favourite_products": "Flat white, Scone",
            "tags": "vip",
            "email": "Leap@Example.com",
            "phone": "07700 900123",
            "email_consent": "on",
            "consent_method": "signed_form",
        },
    )

    assert response.status_code == 302
    customer = Customer.objects.get()
    assert (customer.birthday_day, customer.birthday_month) == (29, 2)
    assert customer.email == "leap@example.com" and customer.phone == "+447700900123"
    assert customer.consent_method == "signed_form" and customer.consent_at
    assert sorted(customer.favourite_products.values_list("name", flat=True)) == ["Flat white", "Scone"]


def test_bad_email_duplicate_email_and_bad_phone_are_field_errors(staff_client):
    CustomerFactory(email="taken@example.com")

    response = staff_client.post(
        reverse("customers:create"),
        {
            "first_name": "Ada",
            "email": "TAKEN@example.com",
            "phone": "12",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "already" in errors["email"][0] and "phone" in errors

    response = staff_client.post(reverse("customers:create"), {"first_name": "Ada", "email": "nope"})
    assert response.status_code == 400 and "email" in response.context["form"].errors
    assert Customer.objects.count() == 1


def test_consent_needs_a_method(staff_client):
    response = staff_client.post(
        reverse("customers:create"),
        {
            "first_name": "Ada",
            "email": "ada@example.com",
            "email_consent": "on",
        },
    )
    assert response.status_code == 400 and "consent_method" in response.context["form"].errors
    assert not Customer.objects.exists()


def test_editing_keeps_who_changed_what(staff_client, staff):
    customer = CustomerFactory(first_name="Ada", email="ada@example.com")

    response = staff_client.post(
        reverse("customers:update", args=[customer.pk]),
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "email_consent": "on",
            "consent_method": "in_person",
        },
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.last_name == "Lovelace"
    assert customer.history.first().history_user == staff


def test_a_bad_edit_changes_nothing(staff_client):
    customer = CustomerFactory(first_name="Ada", last_name="Lovelace")

    response = staff_client.post(
        reverse("customers:update", args=[customer.pk]),
        {
            "first_name": "",
            "last_name": "Changed",
        },
    )

    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.last_name == "Lovelace"


def test_archive_and_unarchive_from_the_card(staff_client):
    customer = CustomerFactory()

    staff_client.post(reverse("customers:archive", args=[customer.pk]), {"archive": "1"})
    assert Customer.objects.get(pk=customer.pk).is_archived
    staff_client.post(reverse("customers:archive", args=[customer.pk]), {"archive": "0"})
    assert not Customer.objects.get(pk=customer.pk).is_archived


def test_important_dates_are_added_and_removed_on_the_card(staff_client):
    customer = CustomerFactory()

    bad = staff_client.post(
        reverse("customers:date_add", args=[customer.pk]),
        {"label": "Anniversary", "day": "30", "month": "2"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 400 and "February has no day 30." in bad.content.decode()
    assert not ImportantDate.objects.exists()

    ok = staff_client.post(
        reverse("customers:date_add", args=[customer.pk]),
        {"label": "Anniversary", "day": "14", "month": "6"},
        HTTP_HX_REQUEST="true",
    )
    assert ok.status_code == 200 and "Anniversary" in ok.content.decode()
    important = ImportantDate.objects.get()

    staff_client.post(reverse("customers:date_remove", args=[customer.pk, important.pk]))
    assert not ImportantDate.objects.exists()


def test_a_date_of_another_customer_cannot_be_removed_through_this_one(staff_client):
    customer, other = CustomerFactory.create_batch(2)
    important = ImportantDate.objects.create(customer=other, label="x", date_day=1, date_month=1)

    response = staff_client.post(reverse("customers:date_remove", args=[customer.pk, important.pk]))

    assert response.status_code == 404 and ImportantDate.objects.exists()


def test_a_follow_up_is_created_on_the_card_for_the_owner_by_default(staff_client, staff):
    customer = CustomerFactory(owner=staff)

    response = staff_client.post(
        reverse("customers:followup_create", args=[customer.pk]),
        {"reason": "Call back", "due_date": "2026-12-01"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200 and "Call back" in response.content.decode()
    followup = FollowUp.objects.get()
    assert followup.assignee == staff and followup.due_date == date(2026, 12, 1)


def test_a_follow_up_without_a_reason_is_a_400_and_nothing_is_saved(staff_client):
    customer = CustomerFactory()
    response = staff_client.post(
        reverse("customers:followup_create", args=[customer.pk]),
        {"reason": "", "due_date": "2026-12-01"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400 and not FollowUp.objects.exists()


def test_follow_ups_are_done_snoozed_and_cancelled_in_one_click(staff_client, staff):
    done, snoozed, cancelled = FollowUpFactory.create_batch(3, assignee=staff, due_date=timezone.localdate())

    assert (
        staff_client.post(
            reverse("customers:followup_action", args=[done.pk, "done"]), HTTP_HX_REQUEST="true"
        ).status_code
        == 200
    )
    staff_client.post(
        reverse("customers:followup_action", args=[snoozed.pk, "snooze"]), {"days": "7"}, HTTP_HX_REQUEST="true"
    )
    staff_client.post(reverse("customers:followup_action", args=[cancelled.pk, "cancel"]))

    assert FollowUp.objects.get(pk=done.pk).status == "done"
    assert FollowUp.objects.get(pk=snoozed.pk).due_date > timezone.localdate()
    assert FollowUp.objects.get(pk=cancelled.pk).status == "cancelled"
    again = staff_client.post(reverse("customers:followup_action", args=[done.pk, "cancel"]), HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and FollowUp.objects.get(pk=done.pk).status == "done"


def test_my_day_lists_my_due_and_overdue_follow_ups_and_birthdays_this_week(staff_client, staff, owner):
    with time_machine.travel(datetime(2025, 12, 30, 12, tzinfo=UTC), tick=False):
        today = date(2025, 12, 30)
        mine = CustomerFactory(owner=staff, first_name="Mine", birthday_day=30, birthday_month=12)
        soon = CustomerFactory(owner=staff, first_name="Soon", birthday_day=2, birthday_month=1, birthday_year=1990)
        CustomerFactory(owner=owner, first_name="NotMine", birthday_day=31, birthday_month=12)
        FollowUpFactory(customer=mine, assignee=staff, due_date=today, reason="Due today")
        FollowUpFactory(customer=mine, assignee=staff, due_date=today - timedelta(days=3), reason="Overdue one")
        FollowUpFactory(customer=mine, assignee=staff, due_date=today + timedelta(days=1), reason="Tomorrow")
        FollowUpFactory(customer=mine, assignee=owner, due_date=today, reason="Someone else's")
        gone = CustomerFactory(owner=staff, first_name="Gone", is_archived=True)
        FollowUpFactory(customer=gone, assignee=staff, due_date=today, reason="About an archived customer")

        response = staff_client.get(reverse("customers:my_day"))
        followups_page = staff_client.get(reverse("customers:my_followups")).content.decode()

    html = response.content.decode()
    assert "Due today" in html and "Overdue one" in html
    assert "Tomorrow" not in html and "Someone else" not in html
    assert "archived customer" not in html and "archived customer" not in followups_page
    day = response.context["day"]
    assert day.followups_total == 2
    assert day.birthdays_today == [mine] and day.birthdays_week == [soon]
    assert "turns 36 in 3 days" in html and "NotMine" not in html


def test_my_day_shows_the_first_10_of_each_list_and_links_to_the_rest(staff_client, staff, owner):
    with time_machine.travel(datetime(2025, 6, 10, 12, tzinfo=UTC), tick=False):
        today = date(2025, 6, 10)
        for i in range(23):
            customer = CustomerFactory(owner=staff, first_name=f"Pal{i:02d}", birthday_day=11, birthday_month=6)
            FollowUpFactory(
                customer=customer, assignee=staff, due_date=today - timedelta(days=30 - i), reason=f"Call {i:02d}"
            )
        CustomerFactory(owner=owner, first_name="NotMine", birthday_day=11, birthday_month=6)

        day_page = staff_client.get(reverse("customers:my_day"))
        followups = staff_client.get(reverse("customers:my_followups"))
        followups_2 = staff_client.get(reverse("customers:my_followups"), {"page": 2})
        birthdays = staff_client.get(reverse("customers:my_birthdays"))

    html = day_page.content.decode()
    assert "Call 09" in html and "Call 10" not in html  # the oldest 10 first
    assert "and 13 more follow-ups" in html and "and 13 more birthdays this week" in html
    assert reverse("customers:my_followups") in html and reverse("customers:my_birthdays") in html
    day = day_page.context["day"]
    assert day.followups_total == 23 and day.birthdays_total == 23 and len(day.birthdays_week) == 10
    assert [f.reason for f in followups.context["page"]] == [f"Call {i:02d}" for i in range(25) if i < 23][:25]
    assert "Pal22" in birthdays.content.decode() and "NotMine" not in birthdays.content.decode()
    assert "birthday tomorrow" in birthdays.content.decode()
    assert followups_2.context["page"].number == 1  # only one page of 25: a later page number shows the last


def test_my_day_says_nothing_more_when_everything_fits(staff_client, staff):
    FollowUpFactory(customer=CustomerFactory(owner=staff), assignee=staff, due_date=timezone.localdate())

    response = staff_client.get(reverse("customers:my_day"))

    assert response.context["day"].followups_total == 1
    assert "more follow-up" not in response.content.decode()


def test_the_list_filters_by_tag_owner_product_month_health_and_stage(staff_client, staff):
    tag, product = TagFactory(name="vip"), ProductFactory(name="Scone")
    match = CustomerFactory(
        first_name="Match", owner=staff, birthday_day=3, birthday_month=5, health="warm", stage="regular"
    )
    match.tags.add(tag)
    match.favourite_products.add(product)
    CustomerFactory(first_name="Other", health="cold")
    CustomerFactory(first_name="Gone", is_archived=True)

    def names(**params):
        return [c.first_name for c in staff_client.get(reverse("customers:list"), params).context["page"]]

    assert sorted(names()) == ["Match", "Other"]
    for params in (
        {"tag": tag.pk},
        {"owner": staff.pk},
        {"product": product.pk},
        {"birthday_month": 5},
        {"health": "warm"},
        {"stage": "regular"},
    ):
        assert names(**params) == ["Match"], params
    assert names(archived="only") == ["Gone"]
    assert sorted(names(archived="all")) == ["Gone", "Match", "Other"]


def test_the_list_sorts_by_last_touchpoint(staff_client, staff):
    old, new, _never = (
        CustomerFactory(first_name="Old"),
        CustomerFactory(first_name="New"),
        CustomerFactory(first_name="Never"),
    )
    touchpoint_log(customer=old, logged_by=staff, kind="visit", happened_at=timezone.now() - timedelta(days=9))
    touchpoint_log(customer=new, logged_by=staff, kind="visit")

    page = staff_client.get(reverse("customers:list"), {"sort": "recent"}).context["page"]

    assert [c.first_name for c in page] == ["New", "Old", "Never"]


def test_search_finds_part_of_a_name_an_email_or_a_phone(staff_client):
    ada = CustomerFactory(first_name="Ada", last_name="Lovelace", email="countess@example.com", phone="+447700900123")
    CustomerFactory(first_name="Grace", last_name="Hopper", email="grace@example.com", phone="")
    CustomerFactory(first_name="Adam", last_name="Gone", is_archived=True)

    def found(q):
        return list(staff_client.get(reverse("customers:search"), {"q": q}).context["page"])

    assert found("love") == [ada]
    assert found("ada lov") == [ada]
    assert found("COUNTESS@") == [ada]
    assert found("07700 900123") == [ada]
    assert found("900 123") == [ada]
    assert found("zzz") == []


def test_search_puts_prefix_matches_first(staff_client):
    inner = CustomerFactory(first_name="Joanna", last_name="Smith")
    prefix = CustomerFactory(first_name="Anna", last_name="Zed")

    results = list(staff_client.get(reverse("customers:search"), {"q": "anna"}).context["page"])

    assert results == [prefix, inner]


def test_search_pages_follow_on_closest_first_without_gaps_or_repeats(staff_client):
    for i in range(30):
        CustomerFactory(first_name=f"Sam{i:02d}" if i % 2 else f"Bo{i:02d}", last_name="Samson" if i % 2 else "Ausam")

    pages = [staff_client.get(reverse("customers:search"), {"q": "sam", "page": n}).context["page"] for n in (1, 2)]

    names = [c.first_name for page in pages for c in page]
    prefix = sorted(f"Sam{i:02d}" for i in range(1, 30, 2))
    inner = sorted(f"Bo{i:02d}" for i in range(0, 30, 2))
    assert names == prefix + inner  # "sam…" names first (by first name), then the others
    assert pages[0].has_next and not pages[1].has_next


def test_the_search_dropdown_shows_at_most_ten_and_a_link_to_all(staff_client):
    CustomerFactory.create_batch(12, first_name="Sam")

    response = staff_client.get(reverse("customers:search"), {"q": "sam", "dropdown": "1"}, HTTP_HX_REQUEST="true")

    assert len(response.context["results"]) == 10 and response.context["more"]
    assert "All matches" in response.content.decode()


def test_wildcards_in_a_search_are_taken_literally(staff_client):
    CustomerFactory(first_name="Ada")
    assert list(staff_client.get(reverse("customers:search"), {"q": "%"}).context["page"]) == []
    assert list(staff_client.get(reverse("customers:search"), {"q": "_"}).context["page"]) == []


def test_logging_a_visit_puts_it_on_the_timeline(staff_client, staff):
    customer = CustomerFactory()
    staff_client.post(reverse("touchpoints:create", args=[customer.pk]), {"kind": "visit"})
    assert Touchpoint.objects.get().kind == "visit"
