"""The friend card's versioned fragment cache: fewer queries on a second visit, never a stale card."""

import re
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.models import update_last_login
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import staff_create, staff_set_active
from automations.sender import message_send
from automations.services import customer_unsubscribe, message_skip
from community.services import customer_profile_update, invitation_answer, profile_link_request
from crm.roles import STAFF
from crm.services import shop_settings_update
from customers.card_cache import card_changed, cards_all_changed, everything_changed
from customers.services import customer_update, followup_done, followup_open
from gifts.services import gift_code_issue, gift_code_redeem
from tests.automations.conftest import at
from tests.factories import (
    CustomerFactory,
    EventFactory,
    InvitationFactory,
    OutboundMessageFactory,
    ProductFactory,
    TouchpointFactory,
)
from tests.queries import executed_sql
from touchpoints.services import touchpoint_log

pytestmark = pytest.mark.django_db

NOON = at("2027-06-15 11:00")  # 12:00 in London, inside sending hours
TIMELINE_READ = 't."note"'  # the timeline's touchpoints (the card reads that table otherwise too)
# The card's read of the follow-ups (its query of the customer only asks whether there are any).
FOLLOWUPS_READ = '"customers_followup"."reason"'


def _card(client, customer) -> str:
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _timeline(html: str) -> str:
    return html[html.index('id="timeline-entries"') : html.index('id="timeline-older"')]


def _without_tokens(html: str) -> str:
    return re.sub(r'(csrfmiddlewaretoken" value|csrf-token" content)="[^"]+"', "", html)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """The test's transaction never commits: run what the services left for after commit, as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def friend(staff):
    customer = CustomerFactory(owner=staff, email="robin@mail.example", email_consent=True)
    TouchpointFactory(customer=customer, note="First flat white")
    return customer


def test_a_second_visit_draws_the_timeline_from_the_cache_the_same_as_the_first(staff_client, friend):
    with CaptureQueriesContext(connection) as first:
        first_html = _card(staff_client, friend)
    with CaptureQueriesContext(connection) as second:
        second_html = _card(staff_client, friend)

    assert "First flat white" in second_html
    assert _without_tokens(second_html) == _without_tokens(first_html)
    assert len(second) < len(first)
    assert TIMELINE_READ not in " ".join(executed_sql(second))


def test_a_logged_touchpoint_shows_on_the_next_visit(committed, staff_client, staff, friend):
    _card(staff_client, friend)

    with committed():
        touchpoint_log(customer=friend, logged_by=staff, kind="visit", note="Brought her dog Biscuit")

    assert "Brought her dog Biscuit" in _timeline(_card(staff_client, friend))


def test_a_follow_up_ticked_off_leaves_the_card(committed, staff_client, staff, friend):
    followup = followup_open(
        customer=friend, reason="Call about the birthday cake", due_date=timezone.localdate(), opened_by=staff
    )
    assert "Call about the birthday cake" in _card(staff_client, friend)

    with committed():
        followup_done(followup=followup, done_by=staff)

    assert "Call about the birthday cake" not in _card(staff_client, friend)


def test_an_issued_gift_shows_on_the_timeline_and_its_redemption_too(committed, staff_client, staff, friend):
    _card(staff_client, friend)

    with committed():
        gift = gift_code_issue(
            customer=friend,
            kind="amount",
            value=Decimal("5"),
            source="manual",
            issued_by=staff,
            expires_on=timezone.localdate() + timedelta(days=30),
        )
    html = _card(staff_client, friend)
    entry = re.search(rf'id="gift-{gift.pk}".*?</li>', _timeline(html), re.S).group(0)
    assert gift.display_code in entry and "redeemed" not in entry

    with committed():
        gift_code_redeem(code=gift.code, redeemed_by=staff)
    entry = re.search(rf'id="gift-{gift.pk}".*?</li>', _timeline(_card(staff_client, friend)), re.S).group(0)
    assert "redeemed" in entry


def test_a_message_the_worker_sends_shows_as_sent(committed, client, staff, friend):
    with time_machine.travel(NOON, tick=False):
        client.force_login(staff)  # a session of that day
        staff_client = client
        message = OutboundMessageFactory(customer=friend, kind="wemissyou", occasion_key="wemissyou:2027-04-01")
        assert "outbox-status-planned" in _timeline(_card(staff_client, friend))

        with committed():
            assert message_send(message_id=message.pk) == "sent"

        timeline = _timeline(_card(staff_client, friend))
    assert "outbox-status-sent" in timeline and "outbox-status-planned" not in timeline


def test_a_skipped_draft_and_an_unsubscribe_show_on_the_next_visit(committed, staff_client, staff, friend):
    draft = OutboundMessageFactory(customer=friend, status="draft")
    assert "outbox-status-draft" in _timeline(_card(staff_client, friend))

    with committed():
        message_skip(message=draft, skipped_by=staff)
    assert "outbox-status-cancelled" in _timeline(_card(staff_client, friend))

    with committed():
        customer_unsubscribe(customer=friend, via="link")
    assert "timeline-optout" in _timeline(_card(staff_client, friend)) or "nsubscribed" in _timeline(
        _card(staff_client, friend)
    )


def test_an_edited_customer_shows_their_new_details(committed, staff_client, staff, friend):
    _card(staff_client, friend)

    with committed():
        customer_update(customer=friend, updated_by=staff, preferred_name="Birdie", notes="Allergic to walnuts")

    html = _card(staff_client, friend)
    assert "Birdie" in html and "Allergic to walnuts" in html


def test_the_customers_own_profile_change_shows_in_the_cached_community_panel(committed, staff_client, friend):
    invitation = InvitationFactory(customer=friend, event=EventFactory(title="Latte art evening"))
    html = _card(staff_client, friend)
    assert "Latte art evening" in html and "Changed their details" not in html

    with committed():
        customer_profile_update(customer=friend, changes={"preferred_name": "Rob"})
    assert "Changed their details: name" in _card(staff_client, friend)

    # Asking for a new link changes no field of theirs, but the panel lists it and the timeline its email.
    with committed():
        assert profile_link_request(email=friend.email)
    assert "Asked for a new link" in _card(staff_client, friend)

    with committed():
        invitation_answer(invitation=invitation, coming=True)
    panel = _card(staff_client, friend).split('data-testid="community-panel"')[1]
    assert "Coming" in panel.split("</section>")[0]


def test_a_rolled_back_change_keeps_the_cached_card_and_a_shop_wide_one_renews_all(committed, staff_client, friend):
    other = CustomerFactory()
    _card(staff_client, friend), _card(staff_client, other)
    with CaptureQueriesContext(connection) as cached:
        _card(staff_client, friend)

    with pytest.raises(RuntimeError), transaction.atomic():
        card_changed(friend.pk)
        raise RuntimeError("the change failed")
    with CaptureQueriesContext(connection) as after_rollback:
        _card(staff_client, friend)
    assert len(after_rollback) == len(cached)

    OutboundMessageFactory(customer=friend, subject="Written behind the card's back")
    OutboundMessageFactory(customer=other, subject="And behind this one's")
    with committed():
        cards_all_changed()  # as a bulk plan does
    assert "Written behind the card" in _card(staff_client, friend)
    assert "And behind this one" in _card(staff_client, other)


def test_the_card_is_drawn_afresh_when_the_cache_cannot_be_reached(committed, staff_client, friend, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }  # nothing listens on port 1

    assert "First flat white" in _card(staff_client, friend)
    with committed():
        touchpoint_log(customer=friend, logged_by=None, kind="visit", note="Still drawn")
    assert "Still drawn" in _card(staff_client, friend)


def test_each_staff_member_gets_their_own_csrf_token_in_the_cached_card_and_it_works(staff, friend):
    from django.test import Client

    from tests.factories import StaffFactory

    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(staff)
    second.force_login(StaffFactory())
    first_html = _card(first, friend)  # fills the cache
    with CaptureQueriesContext(connection) as queries:
        second_html = _card(second, friend)
    assert not any(FOLLOWUPS_READ in sql for sql in executed_sql(queries))  # from the cache

    for html in (first_html, second_html):
        assert "\x00" not in html
        own = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert len(tokens) >= 3 and set(tokens) == {own}  # follow-ups, dates, gifts… all the viewer's
    token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', second_html)[0]
    response = second.post(
        reverse("customers:followup_create", args=[friend.pk]),
        {"reason": "Ring about the party", "due_date": timezone.localdate().isoformat(), "csrfmiddlewaretoken": token},
    )
    assert response.status_code in (200, 302)
    assert friend.followups.filter(reason="Ring about the party").exists()


def test_logging_a_touchpoint_redraws_the_timeline_and_keeps_the_other_parts_cached(
    committed, staff_client, staff, friend
):
    followup_open(customer=friend, reason="Ask about the new puppy", due_date=timezone.localdate(), opened_by=staff)
    _card(staff_client, friend)

    with committed():
        touchpoint_log(customer=friend, logged_by=staff, kind="visit", note="Showed us puppy photos")
    with CaptureQueriesContext(connection) as queries:
        html = _card(staff_client, friend)

    assert "Showed us puppy photos" in html and "Ask about the new puppy" in html
    sql = " ".join(executed_sql(queries))
    assert TIMELINE_READ in sql and FOLLOWUPS_READ not in sql


def test_the_next_day_the_follow_ups_are_redrawn_and_the_timeline_is_not(staff_client, staff, friend):
    followup_open(
        customer=friend,
        reason="Check the cake order",
        due_date=timezone.localdate() + timedelta(days=1),
        opened_by=staff,
    )
    _card(staff_client, friend)

    with time_machine.travel(timezone.now() + timedelta(days=1)):
        staff_client.force_login(staff)  # a day idle is past the session's idle timeout
        with CaptureQueriesContext(connection) as queries:
            html = _card(staff_client, friend)

    assert "First flat white" in html and "Check the cake order" in html
    sql = " ".join(executed_sql(queries))
    assert FOLLOWUPS_READ in sql and TIMELINE_READ not in sql


USUALLY_BUYS_READ = '"touchpoints_touchpoint"."kind" = \'purchase\''


def _usually_buys(html: str) -> str:
    return html.split('data-testid="usually-buys">')[1].split("</dd>")[0]


def test_usually_buys_is_cached_and_a_second_purchase_of_a_product_shows_in_it(committed, staff_client, staff, friend):
    with committed():
        touchpoint_log(customer=friend, logged_by=staff, kind="purchase", amount=Decimal("3.20"), products=["Scone"])
    assert "Scone" not in _usually_buys(_card(staff_client, friend))  # bought once

    with committed():
        touchpoint_log(customer=friend, logged_by=staff, kind="visit", note="Just said hello")
    with CaptureQueriesContext(connection) as after_a_visit:
        _card(staff_client, friend)
    with committed():
        touchpoint_log(customer=friend, logged_by=staff, kind="purchase", amount=Decimal("3.20"), products=["Scone"])

    assert USUALLY_BUYS_READ not in " ".join(executed_sql(after_a_visit))
    assert "Scone" in _usually_buys(_card(staff_client, friend))


def test_usually_buys_is_read_again_the_next_day_when_a_year_old_purchase_drops_out(staff_client, staff, friend):
    with time_machine.travel(timezone.now() - timedelta(days=364)):
        touchpoint_log(customer=friend, logged_by=staff, kind="purchase", amount=Decimal("3"), products=["Bun"])
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        touchpoint_log(customer=friend, logged_by=staff, kind="purchase", amount=Decimal("3"), products=["Bun"])
    assert "Bun" in _usually_buys(_card(staff_client, friend))

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        staff_client.force_login(staff)  # a day idle is past the session's idle timeout
        assert "Bun" not in _usually_buys(_card(staff_client, friend))


PRODUCT_NAMES_READ = '"customers_product"."name" AS "name"'


def test_the_product_suggestions_are_shared_by_every_card_and_learn_a_product_saved_or_deleted(
    committed, staff_client, friend
):
    rye, other = ProductFactory(name="Rye loaf"), CustomerFactory()
    assert '<option value="Rye loaf">' in _card(staff_client, friend)

    with CaptureQueriesContext(connection) as queries:  # another card, never opened: the same suggestions
        html = _card(staff_client, other)
    assert '<option value="Rye loaf">' in html
    assert PRODUCT_NAMES_READ not in " ".join(executed_sql(queries))

    with committed():
        ProductFactory(name="Babka")  # a new product, typed while logging a purchase or in the admin
    assert '<option value="Babka">' in _card(staff_client, friend)
    with committed():
        rye.delete()
    assert '<option value="Rye loaf">' not in _card(staff_client, other)


def test_a_card_nobody_opened_asks_the_cache_three_times_once_the_shop_parts_are_kept(staff_client, friend):
    """The tokens and the shop-wide parts in one read, the new tokens, then the drawn fragments."""
    ProductFactory(name="Rye loaf")
    _card(staff_client, CustomerFactory())  # the shop-wide parts (product suggestions) drawn and kept
    with (
        mock.patch.object(cache, "get_many", wraps=cache.get_many) as get_many,
        mock.patch.object(cache, "set_many", wraps=cache.set_many) as set_many,
    ):
        html = _card(staff_client, friend)
        calls = [*get_many.call_args_list, *set_many.call_args_list]

    assert '<option value="Rye loaf">' in html  # the suggestions, from the one read
    assert len(calls) == 3
    assert get_many.call_count == 1


USERS_READ = 'FROM "auth_user" WHERE "auth_user"."is_active"'  # the follow-up form's people


def _assignees(html: str) -> str:
    start = html.index('name="assignee"')
    return html[start : html.index("</select>", start)]


def test_the_follow_up_forms_people_are_shared_by_every_card_and_learn_a_person_added_renamed_or_deactivated(
    committed, staff_client, staff, owner, friend
):
    assert staff.get_full_name() in _assignees(_card(staff_client, friend))

    with CaptureQueriesContext(connection) as queries:  # another card, never opened: the same people
        html = _card(staff_client, CustomerFactory())
    assert staff.get_full_name() in _assignees(html)
    assert USERS_READ not in " ".join(executed_sql(queries))

    with committed():
        robin = staff_create(
            created_by=owner,
            username="robin",
            first_name="Robin",
            last_name="Newhire",
            email="robin@shop.example",
            role=STAFF,
            password="a long and unusual passphrase 42",
        )
    assert "Robin Newhire" in _assignees(_card(staff_client, friend))
    with committed():
        robin.first_name = "Robyn"
        robin.save()
    assert "Robyn Newhire" in _assignees(_card(staff_client, friend))
    with committed():
        staff_set_active(user=robin, changed_by=owner, active=False)
    assert "Newhire" not in _assignees(_card(staff_client, friend))


def test_a_login_keeps_the_cards_cached(committed, staff_client, staff, friend):
    _card(staff_client, friend)
    with committed():
        update_last_login(None, staff)  # what logging in saves

    with CaptureQueriesContext(connection) as queries:
        _card(staff_client, friend)
    assert TIMELINE_READ not in " ".join(executed_sql(queries))


def test_after_an_upgrade_every_card_part_is_drawn_again(committed, staff_client, friend):
    """`migrate` (which every upgrade runs) renews every token: cached HTML of old templates is not shown."""
    _card(staff_client, friend)
    with committed():
        everything_changed()

    with CaptureQueriesContext(connection) as queries:
        _card(staff_client, friend)
    sql = " ".join(executed_sql(queries))
    assert TIMELINE_READ in sql and USERS_READ in sql


def _log_form(html: str) -> str:
    return html[html.index('<div class="tp-kinds') : html.index("</details>", html.index('<div class="tp-kinds'))]


def test_the_empty_log_form_is_shared_by_every_card_and_follows_the_shops_currency_and_zone(
    committed, staff_client, friend
):
    shared = _log_form(_card(staff_client, friend))
    other = _card(staff_client, CustomerFactory())
    assert _log_form(other) == shared and "Amount (GBP)" in shared
    assert f'action="{reverse("touchpoints:create", args=[friend.pk])}"' not in other  # its own customer's

    with committed():
        shop_settings_update(updated_by=None, currency="EUR", time_zone="Europe/Paris")
    form = _log_form(_card(staff_client, friend))
    assert "Amount (EUR)" in form and "(Europe/Paris time)" in form


def test_the_fresh_form_after_logging_is_the_cards_empty_one_and_a_form_with_errors_its_own(staff_client, friend):
    empty = _log_form(_card(staff_client, friend))
    url = reverse("touchpoints:create", args=[friend.pk])

    logged = staff_client.post(url, {"kind": "visit", "note": "Said hello"}, HTTP_HX_REQUEST="true")
    assert _log_form(logged.content.decode()) == empty

    refused = staff_client.post(url, {"kind": "purchase", "amount": "-3"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert 'id="kind-purchase" value="purchase" checked' in _log_form(refused.content.decode())
