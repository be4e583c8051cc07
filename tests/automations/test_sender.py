"""The outbox sender: sends each row at most once, and says why a row waits or stops."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from automations.models import MessageTemplate, OutboundMessage, Suppression
from automations.sender import message_send, outbox_mark_stuck, outbox_sweep
from automations.services import message_resend, message_resend_unknown, outbox_pause, template_get
from automations.suppression import email_hash
from automations.tasks import outbox_sweep_task
from crm.models import ShopSettings
from customers.models import FollowUp
from gifts.models import GiftCode
from tests.automations.conftest import at
from tests.factories import CustomerFactory, OutboundMessageFactory, OwnerFactory, ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db

NOON = at("2027-06-15 11:00")  # 12:00 in London (summer time)


@pytest.fixture(autouse=True)
def frozen_noon():
    with time_machine.travel(NOON, tick=False):
        yield


def test_a_due_message_is_sent_once_with_text_html_footer_and_unsubscribe_headers():
    shop = ShopSettings.load()
    shop.name, shop.postal_address = "The Corner Café", "1 High Street\nTownsville TS1 1AA"
    shop.save()
    customer = CustomerFactory(preferred_name="Sam", email="sam@mail.example")
    customer.favourite_products.add(ProductFactory(name="Flat white"))
    message = OutboundMessageFactory(customer=customer, kind="wemissyou", occasion_key="wemissyou:2027-04-01")

    assert outbox_sweep() == {"unknown": 0, "sent": 1}
    assert outbox_sweep() == {"unknown": 0}

    message.refresh_from_db()
    assert (message.status, message.attempts, message.sent_at) == ("sent", 1, NOON)
    [email] = mail.outbox
    assert email.to == ["sam@mail.example"]
    assert email.subject == "We miss you, Sam"
    assert "your Flat white is waiting" in email.body
    assert "The Corner Café" in email.body and "Townsville TS1 1AA" in email.body
    html = email.alternatives[0][0]
    assert "Flat white" in html and "Townsville TS1 1AA" in html and "Unsubscribe" in html
    assert "wemissyou-2027-04-01" in email.extra_headers["Message-ID"]
    assert email.extra_headers["Message-ID"] == message.message_id
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = email.extra_headers["List-Unsubscribe"].strip("<>")
    assert "/automations/unsubscribe/" in unsubscribe and unsubscribe in email.body
    assert "Keep your details up to date: http" in email.body and "/community/profile/" in email.body
    assert message.body_text == email.body


def test_a_birthday_greeting_carries_a_new_personal_gift_code_issued_once():
    customer = CustomerFactory()
    message = OutboundMessageFactory(customer=customer, kind="birthday", occasion_key="birthday:2027", priority=10)

    message_send(message_id=message.pk)
    message_send(message_id=message.pk)

    gift = GiftCode.objects.get(customer=customer)
    assert (gift.source, gift.expires_on.isoformat()) == ("birthday", "2027-07-15")  # 30 days
    [email] = mail.outbox
    assert gift.display_code in email.body
    assert "15 July 2027" in email.body


def test_a_thank_you_names_what_they_bought():
    message = OutboundMessageFactory(kind="thankyou", context={"products": ["Carrot cake", "Flat white"]})

    message_send(message_id=message.pk)

    assert "enjoy your Carrot cake and Flat white" in mail.outbox[0].body


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"email_consent": False}, "No email consent"),
        ({"is_archived": True}, "Customer archived or erased"),
    ],
)
def test_a_customer_without_consent_is_suppressed_at_send_time(change, reason):
    message = OutboundMessageFactory()
    type(message.customer).objects.filter(pk=message.customer_id).update(**change)

    assert message_send(message_id=message.pk) == "suppressed"

    message.refresh_from_db()
    assert (message.status, message.status_reason, message.attempts) == ("suppressed", reason, 0)
    assert mail.outbox == []


def test_a_suppressed_address_is_not_emailed():
    message = OutboundMessageFactory()
    Suppression.objects.create(email_hash=email_hash(message.customer.email.upper()), reason="bounce")

    message_send(message_id=message.pk)

    message.refresh_from_db()
    assert message.status == "suppressed"
    assert mail.outbox == []


def test_in_quiet_hours_a_message_waits_until_nine_the_next_morning_with_a_reason():
    message = OutboundMessageFactory()

    with time_machine.travel(at("2027-06-15 18:30"), tick=False):  # 19:30 in London
        assert outbox_sweep()["waiting"] == 1

    message.refresh_from_db()
    assert message.status == "planned"
    assert message.planned_at == at("2027-06-16 08:00")  # 09:00 BST
    assert message.status_reason.startswith("Quiet hours: waits until")
    assert mail.outbox == []
    with time_machine.travel(at("2027-06-16 08:00"), tick=False):
        assert outbox_sweep()["sent"] == 1


def test_quiet_hours_are_in_the_shop_zone_new_york(shop_zone):
    shop_zone("America/New_York")

    with time_machine.travel(at("2026-03-08 12:30"), tick=False):  # 08:30 EDT on the spring-forward day
        message = OutboundMessageFactory()
        outbox_sweep()
    message.refresh_from_db()

    assert message.planned_at == at("2026-03-08 13:00")  # 09:00 EDT


def test_a_third_automated_email_in_seven_days_waits_and_the_higher_priority_one_goes_first():
    customer = CustomerFactory()
    for days_ago in (6, 2):
        OutboundMessageFactory(
            customer=customer,
            status="sent",
            kind="thankyou",
            claimed_at=NOON - timedelta(days=days_ago),
            sent_at=NOON - timedelta(days=days_ago),
        )
    late = OutboundMessageFactory(
        customer=customer, kind="wemissyou", priority=60, planned_at=NOON - timedelta(hours=2)
    )
    birthday = OutboundMessageFactory(
        customer=customer, kind="birthday", priority=10, planned_at=NOON - timedelta(hours=1)
    )

    outbox_sweep()

    late.refresh_from_db()
    birthday.refresh_from_db()
    # The slot opens when the email of 6 days ago is 7 days old: tomorrow at noon.
    assert late.planned_at == birthday.planned_at == NOON + timedelta(days=1)
    assert "Already 2 emails this week" in late.status_reason
    assert mail.outbox == []

    with time_machine.travel(NOON + timedelta(days=1, minutes=1), tick=False):
        outbox_sweep()
    late.refresh_from_db()
    birthday.refresh_from_db()
    assert birthday.status == "sent"  # birthday (priority 10) before we-miss-you (60)
    assert late.status == "planned"
    assert late.planned_at == NOON + timedelta(days=5)  # when the email of 2 days ago turns 7 days old


def test_the_digest_to_staff_is_not_held_by_the_cap_or_quiet_hours():
    staff = StaffFactory(email="kim@shop.example")
    FollowUp.objects.create(
        customer=CustomerFactory(owner=staff),
        reason="Call about the cake order",
        due_date=timezone.localdate(),
        assignee=staff,
    )
    digest = OutboundMessageFactory(
        customer=None,
        staff_user=staff,
        recipient_key=f"u:{staff.pk}",
        kind="digest",
        occasion_key="digest:2027-06-16",
        priority=5,
    )

    with time_machine.travel(at("2027-06-16 07:00"), tick=False):  # 08:00 in London
        assert message_send(message_id=digest.pk) == "sent"

    [email] = mail.outbox
    assert email.to == ["kim@shop.example"]
    assert "Call about the cake order" in email.body
    assert "List-Unsubscribe" not in email.extra_headers


def test_an_empty_digest_is_cancelled_not_sent():
    staff = StaffFactory()
    digest = OutboundMessageFactory(customer=None, staff_user=staff, recipient_key=f"u:{staff.pk}", kind="digest")

    assert message_send(message_id=digest.pk) == "cancelled"
    assert mail.outbox == []


def test_a_failed_message_to_a_staff_member_is_resent_without_touching_a_customer_card():
    staff = StaffFactory()
    digest = OutboundMessageFactory(
        customer=None, staff_user=staff, recipient_key=f"u:{staff.pk}", kind="digest", status="failed"
    )

    message_resend(message=digest, resent_by=OwnerFactory())

    digest.refresh_from_db()
    assert digest.status == "planned"


def test_when_another_worker_got_there_first_nothing_is_sent():
    message = OutboundMessageFactory()
    # Another worker claims the row between our query for due rows and our claim.
    OutboundMessage.objects.filter(pk=message.pk).update(status="sending", attempts=1, claimed_at=NOON)

    assert message_send(message_id=message.pk) == "taken"

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sending", 1)
    assert mail.outbox == []


def test_a_row_stuck_in_sending_without_the_hand_over_mark_goes_back_to_planned_and_is_sent_once(settings):
    settings.OUTBOX_SENDING_TIMEOUT = 600
    # The worker died after claiming the row, before it handed anything to the mail server.
    message = OutboundMessageFactory(status="sending", attempts=1, claimed_at=NOON - timedelta(minutes=9))

    assert outbox_mark_stuck() == {"unknown": 0, "requeued": 0}  # not past the timeout yet
    with time_machine.travel(NOON + timedelta(minutes=2), tick=False):
        assert outbox_sweep() == {"unknown": 0, "requeued": 1, "sent": 1}
        assert outbox_sweep() == {"unknown": 0}

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


def test_a_row_stuck_in_sending_with_the_hand_over_mark_becomes_unknown_and_is_never_resent_silently(settings):
    settings.OUTBOX_SENDING_TIMEOUT = 600
    handed_over = NOON - timedelta(minutes=9) + timedelta(seconds=7)
    message = OutboundMessageFactory(
        status="sending", attempts=1, claimed_at=NOON - timedelta(minutes=9), handed_over_at=handed_over
    )

    with time_machine.travel(NOON + timedelta(minutes=2), tick=False):
        assert outbox_sweep() == {"unknown": 1}
        outbox_sweep()
    message.refresh_from_db()
    assert message.status == "unknown"
    # London is on summer time: 10:51:07 UTC is 11:51:07 in the shop.
    assert message.status_reason == "May have arrived (handed to the server at 11:51:07, no answer)"
    assert mail.outbox == []

    # The owner decides, knowingly, to resend it: it goes out once more.
    with time_machine.travel(NOON + timedelta(minutes=3), tick=False):
        message_resend_unknown(message=message, resent_by=OwnerFactory(), confirmed=True)
        outbox_sweep()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


def test_pausing_all_sending_keeps_messages_planned_with_a_reason():
    message = OutboundMessageFactory()
    owner = OwnerFactory()
    outbox_pause(paused=True, changed_by=owner)

    outbox_sweep_task.delay()
    assert message_send(message_id=message.pk) == "paused"

    message.refresh_from_db()
    assert (message.status, message.status_reason) == ("planned", "Sending is paused by the owner")
    assert mail.outbox == []
    outbox_pause(paused=False, changed_by=owner)
    outbox_sweep()
    assert len(mail.outbox) == 1


def test_a_template_with_a_misspelt_placeholder_fails_the_message_instead_of_sending_a_blank():
    template = template_get("wemissyou")
    MessageTemplate.objects.filter(pk=template.pk).update(body_text="Hi {prefered_name}!")  # bypassing the form
    message = OutboundMessageFactory()

    assert message_send(message_id=message.pk) == "failed"

    message.refresh_from_db()
    assert message.status == "failed"
    assert "{prefered_name} is not a placeholder" in message.last_error
    assert mail.outbox == []


def test_a_we_miss_you_for_a_customer_who_came_back_is_cancelled_at_send_time():
    customer = CustomerFactory(last_touchpoint_at=NOON - timedelta(days=1))
    message = OutboundMessageFactory(customer=customer, occasion_key="wemissyou:2027-04-06")  # planned 70 days after

    assert message_send(message_id=message.pk) == "cancelled"
    assert mail.outbox == []


def test_a_message_planned_for_later_is_not_sent_yet():
    message = OutboundMessageFactory(planned_at=NOON + timedelta(hours=1))

    assert message_send(message_id=message.pk) == "not_due"
    assert outbox_sweep() == {"unknown": 0}
