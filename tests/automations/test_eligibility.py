"""One eligibility rule for every planner: an unsubscribed (or suppressed, erased, archived) customer gets no row.

Each planner is run for two customers who both qualify for the occasion; one of them has
unsubscribed through their link first. Only the other gets a row.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from automations.eligibility import customer_ineligible_reason, customers_eligible
from automations.models import EmailOptOut, OutboundMessage
from automations.planners import (
    plan_birthdays,
    plan_gift_expiry_reminders,
    plan_thank_yous,
    plan_we_miss_you,
)
from automations.services import automation_get, customer_unsubscribe
from automations.suppression import suppression_add
from community.models import Invitation
from community.services import (
    event_invite,
    event_reminders_plan,
    invitation_answer,
    newsletter_plan,
)
from customers.models import Customer
from tests.automations.conftest import at
from tests.factories import (
    CustomerFactory,
    EventFactory,
    GiftCodeFactory,
    InvitationFactory,
    NewsletterFactory,
    SegmentFactory,
    StaffFactory,
)
from touchpoints.services import touchpoint_log

pytestmark = pytest.mark.django_db


def unsubscribed(customer: Customer) -> Customer:
    """The customer clicks their unsubscribe link."""
    assert customer_unsubscribe(customer=customer, via=EmailOptOut.Via.LINK)
    customer.refresh_from_db()
    return customer


def recipients(kind: str) -> set[int]:
    return set(OutboundMessage.objects.filter(kind=kind).values_list("customer_id", flat=True))


# --- The rule itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"email_consent": False}, "No email consent"),
        ({"is_archived": True}, "Customer archived or erased"),
        ({"erased_at": at("2027-01-01 12:00")}, "Customer archived or erased"),
        ({"email": ""}, "No email address"),
        ({"suppressed": True}, "Address suppressed (bounced or asked to stop)"),
    ],
)
def test_the_rule_is_the_same_in_the_database_and_at_send_time(change, reason):
    keep = CustomerFactory(email="keep@mail.example")
    customer = CustomerFactory(email="  Gone@Mail.Example ")
    if change.pop("suppressed", False):
        suppression_add(email="gone@mail.example", reason="bounce 550")  # the hash ignores case and spaces
    Customer.objects.filter(pk=customer.pk).update(**change)
    customer.refresh_from_db()

    assert set(customers_eligible().values_list("pk", flat=True)) == {keep.pk}
    assert customer_ineligible_reason(customer) == reason
    assert customer_ineligible_reason(keep) == ""


# --- One test per planner -------------------------------------------------------------------


def test_the_birthday_planner_plans_nothing_for_an_unsubscribed_customer():
    stays, leaves = CustomerFactory.create_batch(2, birthday_day=22, birthday_month=6)
    unsubscribed(leaves)

    with time_machine.travel(at("2027-06-15 12:00"), tick=False):
        plan_birthdays(now=timezone.now())

    assert recipients("birthday") == {stays.pk}


def test_the_gift_expiry_planner_plans_nothing_for_an_unsubscribed_customer():
    stays, leaves = GiftCodeFactory.create_batch(2, expires_on=date(2027, 5, 10))
    unsubscribed(leaves.customer)

    with time_machine.travel(at("2027-05-03 12:00"), tick=False):
        plan_gift_expiry_reminders(now=timezone.now())

    assert recipients("gift_expiry") == {stays.customer_id}


def test_the_we_miss_you_planner_plans_nothing_for_an_unsubscribed_customer():
    stays, leaves = CustomerFactory.create_batch(2, cadence_days=30, last_touchpoint_at=at("2027-03-01 12:00"))
    unsubscribed(leaves)

    with time_machine.travel(at("2027-03-31 13:00"), tick=False):
        plan_we_miss_you(now=timezone.now())

    assert recipients("wemissyou") == {stays.pk}


def test_the_thank_you_planner_plans_nothing_for_an_unsubscribed_customer():
    staff = StaffFactory()
    stays, leaves = CustomerFactory.create_batch(2)
    with time_machine.travel(at("2027-05-10 14:00"), tick=False):
        for customer in (stays, leaves):
            touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=Decimal("7.50"))
    unsubscribed(leaves)

    with time_machine.travel(at("2027-05-11 08:00"), tick=False):
        plan_thank_yous(now=timezone.now())

    assert recipients("thankyou") == {stays.pk}


def test_the_loyalty_hook_plans_nothing_for_an_unsubscribed_customer():
    automation = automation_get("loyalty")
    automation.every_k = 1
    automation.save()
    staff = StaffFactory()
    stays, leaves = CustomerFactory.create_batch(2)
    unsubscribed(leaves)

    with time_machine.travel(at("2027-05-10 12:00"), tick=False):
        for customer in (stays, leaves):
            touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=Decimal(5))

    assert recipients("loyalty") == {stays.pk}


def test_the_referral_hook_plans_nothing_for_an_unsubscribed_referrer():
    staff = StaffFactory()
    stays, leaves = CustomerFactory.create_batch(2)
    friends = [CustomerFactory(referred_by=stays), CustomerFactory(referred_by=leaves)]
    unsubscribed(leaves)

    with time_machine.travel(at("2027-05-10 12:00"), tick=False):
        for friend in friends:
            touchpoint_log(customer=friend, logged_by=staff, kind="purchase", amount=Decimal(5))

    assert recipients("referral") == {stays.pk}


def test_the_newsletter_planner_plans_nothing_for_an_unsubscribed_customer(owner):
    stays, leaves = CustomerFactory.create_batch(2)
    unsubscribed(leaves)
    newsletter = NewsletterFactory(segment=SegmentFactory(), status="scheduled", send_at=timezone.now())

    newsletter_plan(newsletter_id=newsletter.pk)

    assert recipients("newsletter") == {stays.pk}


def test_event_invitations_plan_nothing_for_an_unsubscribed_customer(owner):
    stays, leaves = CustomerFactory.create_batch(2)
    unsubscribed(leaves)
    event = EventFactory()

    event_invite(event=event, segment=SegmentFactory(), invited_by=owner)

    assert Invitation.objects.filter(event=event).count() == 2  # invited (they may still come), not emailed
    assert recipients("event_invitation") == {stays.pk}


def test_event_reminders_plan_nothing_for_an_unsubscribed_customer():
    starts = timezone.now() + timedelta(hours=30)
    event = EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=2), capacity=10)
    stays, leaves = CustomerFactory.create_batch(2)
    for customer in (stays, leaves):
        invitation_answer(invitation=InvitationFactory(event=event, customer=customer), coming=True)
    OutboundMessage.objects.filter(kind="event_reminder").delete()
    unsubscribed(leaves)

    event_reminders_plan()

    assert recipients("event_reminder") == {stays.pk}


def test_a_place_freed_on_the_waiting_list_is_not_emailed_to_an_unsubscribed_customer():
    starts = timezone.now() + timedelta(days=5)
    event = EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=2), capacity=1)
    holder = CustomerFactory()
    invitation_answer(invitation=InvitationFactory(event=event, customer=holder), coming=True)
    leaves = CustomerFactory()
    invitation_answer(invitation=InvitationFactory(event=event, customer=leaves), coming=True)  # waits
    unsubscribed(leaves)

    invitation_answer(invitation=Invitation.objects.get(event=event, customer=holder), coming=False)

    assert Invitation.objects.get(event=event, customer=leaves).answer == "going"  # their seat, no email
    assert recipients("event_place") == set()
