"""Delivery events from Postmark, Mailgun and Amazon SES, posted as recorded, through anymail's checks."""

import hashlib
import hmac
import json

import pytest
from django.core import mail

from automations.models import EmailOptOut, OutboundMessage, Suppression
from automations.sender import message_send
from automations.suppression import email_hash
from mailevents.models import MailEvent
from mailevents.services import mail_events_sweep
from tests.automations.conftest import at
from tests.factories import CustomerFactory, NewsletterFactory, OutboundMessageFactory
from tests.mailevents.conftest import basic_auth, fixture_body, post_webhook

pytestmark = pytest.mark.django_db

ADA = "ada@example.com"
# provider → (the message id its events carry, as the sender stored it; hard bounce; complaint; delivery)
PROVIDERS = {
    "postmark": ("883953f4-6105-42a2-a16a-77a8eac79483", "bounce_hard", "spam_complaint", "delivery"),
    "mailgun": (
        "<20270615110002.1.5A9B0C1D2E3F4A5B@mg.rapport.example>",
        "failed_permanent",
        "complained",
        "delivered",
    ),
    "amazon_ses": (
        "0102018f7d3b2a1c-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9-000000",
        "bounce_permanent",
        "complaint",
        "delivery",
    ),
}


@pytest.fixture
def ada(db):
    return CustomerFactory(first_name="Ada", email=ADA, email_consent=True)


def sent_to(customer, provider: str, **fields) -> OutboundMessage:
    return OutboundMessageFactory(
        customer=customer,
        status="sent",
        to_email=customer.email,
        provider_message_id=PROVIDERS[provider][0],
        kind="thankyou",
        **fields,
    )


def post(client, provider: str, name: str, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return post_webhook(client, provider, fixture_body(provider, name), **kwargs)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_delivery_marks_the_outbox_row_delivered(client, ada, provider, django_capture_on_commit_callbacks):
    message = sent_to(ada, provider)

    response = post(client, provider, PROVIDERS[provider][3], django_capture_on_commit_callbacks)

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.delivery_status == "delivered"
    assert message.status == "sent"
    event = MailEvent.objects.get()
    # Stored raw first, then processed by the task.
    assert (event.status, event.message_id, event.customer_id) == ("processed", message.pk, ada.pk)
    assert event.raw
    ada.refresh_from_db()
    assert ada.email_consent is True
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_hard_bounce_suppresses_the_address_and_turns_consent_off(
    client, ada, provider, django_capture_on_commit_callbacks
):
    message = sent_to(ada, provider)
    waiting = OutboundMessageFactory(customer=ada, kind="birthday")

    assert post(client, provider, PROVIDERS[provider][1], django_capture_on_commit_callbacks).status_code == 200

    message.refresh_from_db()
    assert message.delivery_status == "bounced"
    assert "550" in message.delivery_detail or "Permanent" in message.delivery_detail
    assert Suppression.objects.filter(email_hash=email_hash(ADA)).exists()
    ada.refresh_from_db()
    assert ada.email_consent is False
    # The reason is kept in the card's history.
    assert ada.history.first().history_change_reason.startswith("Hard bounce")
    waiting.refresh_from_db()
    assert (waiting.status, waiting.status_reason) == ("suppressed", f"Hard bounce ({provider})")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_complaint_suppresses_and_stops_the_newsletter_still_sending_for_that_person(
    client, ada, provider, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    sent_to(ada, provider)
    bob = CustomerFactory(first_name="Bob")
    newsletter = NewsletterFactory(status="planned")
    rows = {
        who.pk: OutboundMessageFactory(
            customer=who,
            kind="newsletter",
            occasion_key=newsletter.occasion_key,
            context={"newsletter_id": newsletter.pk},
            priority=80,
        )
        for who in (ada, bob)
    }

    assert post(client, provider, PROVIDERS[provider][2], django_capture_on_commit_callbacks).status_code == 200

    assert Suppression.objects.filter(email_hash=email_hash(ADA)).exists()
    ada.refresh_from_db()
    assert ada.email_consent is False
    ada_row, bob_row = rows[ada.pk], rows[bob.pk]
    ada_row.refresh_from_db()
    assert (ada_row.status, ada_row.status_reason) == ("suppressed", f"Marked our email as spam ({provider})")
    # The newsletter goes on for everyone else, and never reaches Ada.
    assert message_send(message_id=ada_row.pk) == "taken"
    assert message_send(message_id=bob_row.pk) == "sent"
    assert [m.to for m in mail.outbox] == [[bob.email]]
    assert OutboundMessage.objects.get(provider_message_id=PROVIDERS[provider][0]).delivery_status == "complained"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_same_event_twice_changes_nothing(client, ada, provider, django_capture_on_commit_callbacks):
    message = sent_to(ada, provider)
    post(client, provider, PROVIDERS[provider][1], django_capture_on_commit_callbacks)
    message.refresh_from_db()
    before = (message.delivery_status, message.delivery_detail, message.delivery_at, message.updated_at)
    suppressed_at = Suppression.objects.get().created_at

    response = post(client, provider, PROVIDERS[provider][1], django_capture_on_commit_callbacks)

    assert response.status_code == 200  # the provider must not retry it
    assert MailEvent.objects.count() == 1
    message.refresh_from_db()
    assert (message.delivery_status, message.delivery_detail, message.delivery_at, message.updated_at) == before
    assert Suppression.objects.get().created_at == suppressed_at


def _forged(provider: str, name: str) -> tuple[bytes, str]:
    body = fixture_body(provider, name)
    if provider == "mailgun":
        # Right password, but signed with someone else's key.
        payload = json.loads(body)
        block = payload["signature"]
        block["signature"] = hmac.new(
            b"not-our-key", f"{block['timestamp']}{block['token']}".encode(), hashlib.sha256
        ).hexdigest()
        return json.dumps(payload).encode(), basic_auth()
    return body, basic_auth("rapport:guessed-password")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_forged_event_is_refused_recorded_and_changes_nothing(
    client, ada, provider, django_capture_on_commit_callbacks
):
    message = sent_to(ada, provider)
    body, auth = _forged(provider, PROVIDERS[provider][2])

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, provider, body, auth=auth)

    assert response.status_code == 400
    refused = MailEvent.objects.get()
    assert (refused.status, refused.provider) == ("refused", provider)
    assert refused.outcome  # why, for the owner
    message.refresh_from_db()
    assert message.delivery_status == ""
    assert not Suppression.objects.exists()
    ada.refresh_from_db()
    assert ada.email_consent is True


def test_a_mailgun_event_with_no_signature_at_all_is_refused(client, ada, django_capture_on_commit_callbacks):
    payload = json.loads(fixture_body("mailgun", "complained"))
    del payload["signature"]

    response = post_webhook(client, "mailgun", json.dumps(payload).encode())

    assert response.status_code == 400
    assert MailEvent.objects.get().status == "refused"


@pytest.mark.parametrize(("provider", "name"), [("postmark", "bounce_soft"), ("amazon_ses", "bounce_transient")])
def test_a_soft_bounce_is_shown_but_does_not_suppress(client, ada, provider, name, django_capture_on_commit_callbacks):
    message = sent_to(ada, provider)

    post(client, provider, name, django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert message.delivery_status == "soft_bounce"
    assert not Suppression.objects.exists()
    ada.refresh_from_db()
    assert ada.email_consent is True


def test_a_late_delivery_report_does_not_hide_a_complaint(client, ada, django_capture_on_commit_callbacks):
    message = sent_to(ada, "postmark")
    post(client, "postmark", "spam_complaint", django_capture_on_commit_callbacks)

    post(client, "postmark", "delivery", django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert message.delivery_status == "complained"


def test_an_unsubscribe_at_the_provider_is_recorded_as_the_customers_own(
    client, ada, django_capture_on_commit_callbacks
):
    message = sent_to(ada, "postmark")

    post(client, "postmark", "subscription_change", django_capture_on_commit_callbacks)

    ada.refresh_from_db()
    assert ada.email_consent is False
    opt_out = EmailOptOut.objects.get(customer=ada)
    assert opt_out.via == EmailOptOut.Via.PROVIDER
    assert ada.history.first().history_user is None  # nobody on the staff did it
    message.refresh_from_db()
    assert message.delivery_status == "unsubscribed"


def test_an_event_whose_task_was_lost_is_processed_by_the_sweep(
    client, ada, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    message = sent_to(ada, "postmark")
    # The broker lost the task: the on-commit callbacks never run.
    with django_capture_on_commit_callbacks(execute=False):
        post_webhook(client, "postmark", fixture_body("postmark", "delivery"))
    assert MailEvent.objects.get().status == "received"
    assert mail_events_sweep() == 0  # a just-arrived event is left to its own task

    time_machine.move_to(at("2027-06-15 11:02"), tick=False)
    assert mail_events_sweep() == 1

    message.refresh_from_db()
    assert message.delivery_status == "delivered"
    assert MailEvent.objects.get().status == "processed"


def test_an_unknown_provider_or_direction_is_404(client):
    assert post_webhook(client, "pigeon", b"{}").status_code == 404
    assert post_webhook(client, "postmark", b"{}", direction="sideways").status_code == 404


def test_a_provider_that_is_not_connected_answers_404_not_500(client, settings):
    settings.ANYMAIL = {}  # no Mailgun signing key

    response = post_webhook(client, "mailgun", fixture_body("mailgun", "delivered"))

    assert response.status_code == 404
    assert not MailEvent.objects.exists()


def test_the_delivery_shows_on_the_customers_timeline(client, ada, owner_client, django_capture_on_commit_callbacks):
    sent_to(ada, "postmark", subject="Thank you, Ada")
    assert "Bounced" not in owner_client.get(f"/customers/{ada.pk}/").content.decode()  # the card is now cached
    post(client, "postmark", "bounce_hard", django_capture_on_commit_callbacks)

    page = owner_client.get(f"/customers/{ada.pk}/").content.decode()

    assert "Bounced" in page
    assert "550 5.1.1" in page


@pytest.mark.parametrize("provider", ["postmark", "amazon_ses"])
def test_without_a_webhook_password_the_unsigned_providers_webhooks_are_not_there(
    client, ada, settings, provider, django_capture_on_commit_callbacks
):
    settings.ANYMAIL = {}
    sent_to(ada, provider)

    response = post(client, provider, PROVIDERS[provider][1], django_capture_on_commit_callbacks, auth="")

    assert response.status_code == 404
    assert not MailEvent.objects.exists() and not Suppression.objects.exists()


def test_an_event_that_beats_the_sender_recording_the_id_is_matched_by_the_row_id_in_its_metadata(
    client, ada, django_capture_on_commit_callbacks
):
    # The provider answered, the delivery webhook came, but the sender has not saved the provider's id yet.
    message = OutboundMessageFactory(customer=ada, status="sending", to_email=ADA, kind="thankyou")
    payload = json.loads(fixture_body("postmark", "delivery"))
    payload["Metadata"] = {"rapport_outbox": str(message.pk)}

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, "postmark", json.dumps(payload).encode())

    message.refresh_from_db()
    assert message.delivery_status == "delivered"
    assert message.status == "sending"  # the sender's own columns are left to the sender


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("body", [b"not json at all", b"[1, 2]", b'"just a string"'])
def test_a_payload_that_is_not_the_providers_json_gets_a_400_and_is_kept_as_refused(client, ada, provider, body):
    message = sent_to(ada, provider)

    response = post_webhook(client, provider, body)

    assert response.status_code == 400
    assert MailEvent.objects.get().status == "refused"
    message.refresh_from_db()
    assert message.delivery_status == ""


@pytest.mark.parametrize("provider", ["postmark", "amazon_ses"])
@pytest.mark.parametrize("inner", [{}, {"RecordType": "Bounce"}, {"eventType": "Bounce", "bounce": {}}])
def test_json_in_a_shape_no_event_has_changes_nothing(client, ada, provider, inner, django_capture_on_commit_callbacks):
    body = json.dumps(inner).encode()
    if provider == "amazon_ses":
        body = json.dumps(
            {
                "Type": "Notification",
                "MessageId": "m-1",
                "TopicArn": "arn:aws:sns:eu-west-1:1:t",
                "Message": body.decode(),
            }
        ).encode()
    message = sent_to(ada, provider)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, provider, body)

    assert response.status_code in (200, 400)
    message.refresh_from_db()
    assert message.delivery_status == ""
    assert not Suppression.objects.exists()
    ada.refresh_from_db()
    assert ada.email_consent is True
