"""Replies landing on the card: reading them, matching the customer, and the provider inbound webhook."""

from email.message import EmailMessage

import pytest

from automations.links import reply_address
from customers.models import FollowUp
from mailevents.models import InboundMail
from mailevents.replies import auto_reply_reason, reply_parse, strip_quoted
from mailevents.services import inbound_store
from tests.factories import CustomerFactory, StaffFactory
from tests.mailevents.conftest import fixture_body, post_webhook
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


def a_reply(
    *,
    to: str,
    sender: str = "someone@else.example",
    body: str = "See you Saturday!",
    subject: str = "Re: Thank you",
    message_id: str = "<r1@mail.example>",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Someone <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Tue, 15 Jun 2027 12:03:00 +0100"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def test_quoted_text_signatures_and_outlook_headers_are_stripped():
    text = "Lovely, thank you!\nSee you Saturday.\n\n-- \nAda\n\nOn Tue, 15 Jun 2027, Shop <a@b.c> wrote:\n> old"
    assert strip_quoted(text) == "Lovely, thank you!\nSee you Saturday."
    outlook = "Yes please.\n\n________________________________\nFrom: Shop <a@b.c>\nSent: Tuesday\n\nOld text"
    assert strip_quoted(outlook) == "Yes please."
    assert strip_quoted("> only quoted\n>> deeper\nMine") == "Mine"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "Out of office"},
        {"Precedence": "auto_reply"},
        {"Precedence": "bulk"},
        {"X-Auto-Response-Suppress": "All"},
        {"Subject": "Automatic reply: Thank you"},
        {"Subject": "Out of Office: back Monday"},
    ],
)
def test_auto_replies_are_recognised_by_their_headers(headers):
    msg = EmailMessage()
    msg["Subject"] = "Re: Thank you"
    for name, value in headers.items():
        del msg[name]
        msg[name] = value
    assert auto_reply_reason(msg)


def test_a_persons_reply_is_not_taken_for_an_auto_reply():
    msg = EmailMessage()
    msg["Subject"] = "Re: Thank you"
    msg["Auto-Submitted"] = "no"
    assert auto_reply_reason(msg) == ""


def test_attachments_are_listed_with_their_size():
    msg = EmailMessage()
    msg["From"] = "ada@example.com"
    msg["Subject"] = "Photos"
    msg.set_content("Here they are")
    msg.add_attachment(b"x" * 2048, maintype="image", subtype="jpeg", filename="cake.jpg")
    parsed = reply_parse(msg.as_bytes())
    assert parsed.attachments == [("cake.jpg", "2 KB")]
    assert parsed.text == "Here they are"


def test_a_reply_to_the_tagged_address_lands_on_that_customers_card_with_a_follow_up(
    django_capture_on_commit_callbacks,
):
    owner = StaffFactory()
    ada = CustomerFactory(first_name="Ada", preferred_name="", owner=owner, email="ada@example.com")
    # Sent from another address than the one on the card: the tag still finds her.
    raw = a_reply(
        to=reply_address(customer_id=ada.pk),
        sender="ada.at.work@company.example",
        body="See you Saturday!\n\nOn Tue, Shop wrote:\n> Thank you for coming",
    )

    with django_capture_on_commit_callbacks(execute=True):
        inbound = inbound_store(source="imap", raw=raw)

    inbound.refresh_from_db()
    assert (inbound.status, inbound.customer_id) == ("logged", ada.pk)
    touchpoint = Touchpoint.objects.get(customer=ada)
    assert touchpoint.kind == "reply" and touchpoint.kind_label == "Email reply"
    assert "See you Saturday!" in touchpoint.note and "Thank you for coming" not in touchpoint.note
    assert touchpoint.logged_by is None
    followup = FollowUp.objects.get(customer=ada)
    assert (followup.reason, followup.assignee, followup.status) == ("Reply to Ada", owner, "open")
    ada.refresh_from_db()
    assert ada.last_touchpoint_at == touchpoint.happened_at


def test_a_reply_without_a_tag_is_matched_by_the_senders_address(django_capture_on_commit_callbacks):
    ada = CustomerFactory(email="Ada@Example.com")
    with django_capture_on_commit_callbacks(execute=True):
        inbound_store(source="imap", raw=a_reply(to="replies@shop.example", sender="ada@example.com"))
    assert Touchpoint.objects.get().customer == ada


def test_a_forged_tag_falls_back_to_the_sender_and_otherwise_is_unmatched(django_capture_on_commit_callbacks):
    ada = CustomerFactory()
    forged = reply_address(customer_id=ada.pk).replace("+r", "+r9")
    with django_capture_on_commit_callbacks(execute=True):
        inbound = inbound_store(source="imap", raw=a_reply(to=forged))
    inbound.refresh_from_db()
    assert inbound.status == "unmatched"
    assert not Touchpoint.objects.exists()


def test_an_out_of_office_is_not_logged(django_capture_on_commit_callbacks):
    ada = CustomerFactory()
    raw = a_reply(to=reply_address(customer_id=ada.pk), subject="Out of office", Auto_Submitted="auto-replied")
    with django_capture_on_commit_callbacks(execute=True):
        inbound = inbound_store(source="imap", raw=raw)
    inbound.refresh_from_db()
    assert inbound.status == "auto_reply"
    assert not Touchpoint.objects.exists() and not FollowUp.objects.exists()


def test_the_same_reply_twice_is_logged_once_and_a_second_reply_adds_no_second_follow_up(
    django_capture_on_commit_callbacks,
):
    ada = CustomerFactory()
    raw = a_reply(to=reply_address(customer_id=ada.pk))
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_store(source="imap", raw=raw) is not None
        assert inbound_store(source="imap", raw=raw) is None
        inbound_store(source="imap", raw=a_reply(to=reply_address(customer_id=ada.pk), message_id="<r2@x>"))
    assert Touchpoint.objects.filter(customer=ada).count() == 2
    assert FollowUp.objects.filter(customer=ada).count() == 1


def test_the_postmark_inbound_webhook_logs_the_reply_with_its_attachment(client, django_capture_on_commit_callbacks):
    ada = CustomerFactory(email="ada@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, "postmark", fixture_body("postmark", "inbound"), direction="inbound")

    assert response.status_code == 200
    inbound = InboundMail.objects.get()
    assert (inbound.source, inbound.status, inbound.customer_id) == ("postmark", "logged", ada.pk)
    note = Touchpoint.objects.get(customer=ada).note
    assert "Thank you, see you Saturday!" in note
    assert "thank you for coming in yesterday" not in note
    assert "receipt.pdf" in note


def test_the_inbound_webhook_refuses_a_wrong_password(client):
    response = post_webhook(
        client, "postmark", fixture_body("postmark", "inbound"), direction="inbound", auth="Basic bm86cGU="
    )
    assert response.status_code == 400
    assert not InboundMail.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"From: =?bogus?Q?x?=\r\nSubject: =?utf-8?B?####?=\r\n\r\nhi",
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nbroken',
    ],
)
def test_a_mangled_message_is_kept_and_never_crashes_the_task(raw, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        inbound = inbound_store(source="imap", raw=raw)
    inbound.refresh_from_db()
    assert inbound.status in ("unmatched", "auto_reply")
    assert not Touchpoint.objects.exists()
