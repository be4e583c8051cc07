"""Owner pages (settings, templates, outbox), the review queue, and who may open them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automations.models import Automation, MessageTemplate, OutboxControl
from automations.services import automation_get, template_get
from tests.factories import CustomerFactory, OutboundMessageFactory
from tests.queries import app_queries

pytestmark = pytest.mark.django_db

OWNER_PAGES = [
    ("get", reverse("automations:settings")),
    ("get", reverse("automations:outbox")),
    ("get", reverse("automations:template_edit", args=["birthday"])),
    ("post", reverse("automations:template_preview", args=["birthday"])),
    ("post", reverse("automations:pause")),
    ("post", reverse("automations:automation_save", args=["birthday"])),
]


@pytest.mark.parametrize("method, url", OWNER_PAGES)
def test_staff_get_403_on_owner_pages(staff_client, method, url):
    assert getattr(staff_client, method)(url).status_code == 403


@pytest.mark.parametrize("method, url", OWNER_PAGES)
def test_logged_out_visitors_are_sent_to_log_in(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_cannot_resend_a_message(staff_client):
    message = OutboundMessageFactory(status="unknown")

    assert staff_client.post(reverse("automations:resend", args=[message.pk])).status_code == 403
    message.refresh_from_db()
    assert message.status == "unknown"


def test_the_settings_page_lists_every_automation(owner_client):
    response = owner_client.get(reverse("automations:settings"))

    assert response.status_code == 200
    for label in Automation.Kind.labels:
        assert label in response.content.decode()


def test_the_settings_page_points_the_owner_at_messages_that_need_a_look(owner_client):
    OutboundMessageFactory(status="unknown")
    OutboundMessageFactory(status="failed")

    page = owner_client.get(reverse("automations:settings")).content.decode()

    assert 'href="/automations/outbox/?status=unknown"' in page
    assert 'title="Failed or unknown: need a look">2</span>' in page


def test_the_owner_changes_the_birthday_numbers(owner_client):
    response = owner_client.post(
        reverse("automations:automation_save", args=["birthday"]),
        {
            "birthday-enabled": "on",
            "birthday-days": "5",
            "birthday-code_kind": "amount",
            "birthday-code_value": "5.00",
            "birthday-code_valid_days": "14",
            "birthday-leap_day_on_march_1": "on",
        },
    )

    assert response.status_code == 302
    automation = automation_get("birthday")
    assert (automation.days, automation.code_kind, automation.code_valid_days) == (5, "amount", 14)
    assert automation.leap_day_on_march_1 and not automation.review_before_sending


def test_bad_numbers_get_a_message_and_change_nothing(owner_client):
    response = owner_client.post(
        reverse("automations:automation_save", args=["birthday"]),
        {
            "birthday-enabled": "on",
            "birthday-days": "-3",
            "birthday-code_kind": "percent",
            "birthday-code_value": "150",
            "birthday-code_valid_days": "30",
        },
    )

    assert response.status_code == 400
    assert "percentage off can be at most 100" in response.content.decode()
    automation = automation_get("birthday")
    assert (automation.days, automation.code_value) == (7, 10)


def test_an_unknown_automation_is_404(owner_client):
    assert owner_client.post(reverse("automations:automation_save", args=["spam"])).status_code == 404
    assert owner_client.get(reverse("automations:template_edit", args=["digest"])).status_code == 404


def test_the_owner_pauses_and_resumes_all_sending(owner_client):
    owner_client.post(reverse("automations:pause"), {"paused": "1"})
    assert OutboxControl.load().paused
    owner_client.post(reverse("automations:pause"), {"paused": "0"})
    assert not OutboxControl.load().paused


def test_a_template_is_saved_and_used(owner_client):
    response = owner_client.post(
        reverse("automations:template_edit", args=["thankyou"]),
        {
            "subject": "Thanks {preferred_name}",
            "body_text": "We loved seeing you at {shop_name}.",
            "body_html": "",
        },
    )

    assert response.status_code == 302
    assert template_get("thankyou").subject == "Thanks {preferred_name}"


def test_a_misspelt_placeholder_is_refused_on_save_with_a_suggestion(owner_client):
    before = template_get("thankyou").body_text
    response = owner_client.post(
        reverse("automations:template_edit", args=["thankyou"]),
        {
            "subject": "Thanks",
            "body_text": "Hi {prefered_name}",
            "body_html": "",
        },
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "{prefered_name} is not a placeholder. Did you mean {preferred_name}?" in page
    assert MessageTemplate.objects.get(kind="thankyou").body_text == before


def test_a_gift_code_placeholder_is_refused_where_no_code_is_sent(owner_client):
    response = owner_client.post(
        reverse("automations:template_edit", args=["wemissyou"]),
        {
            "subject": "Hi",
            "body_text": "Here is {gift_code}",
            "body_html": "",
        },
    )

    assert response.status_code == 400
    assert "can only be used in emails that carry a gift code" in response.content.decode()


def test_the_preview_renders_for_a_chosen_real_customer(owner_client):
    CustomerFactory(preferred_name="Ann")
    bea = CustomerFactory(preferred_name="Bea")

    response = owner_client.post(
        reverse("automations:template_preview", args=["birthday"]),
        {
            "subject": "Happy birthday {preferred_name}",
            "body_text": "Code {gift_code} <b>",
            "body_html": "",
            "customer": bea.pk,
        },
    )

    page = response.content.decode()
    assert "Happy birthday Bea" in page and "ABCD-EFGH" in page
    assert "&lt;b&gt;" in page  # typed text is escaped in the preview


def test_the_preview_shows_a_misspelt_placeholder_as_an_error(owner_client):
    CustomerFactory()

    response = owner_client.post(
        reverse("automations:template_preview", args=["birthday"]),
        {
            "subject": "Hi",
            "body_text": "Hello {Preferred_Nme}",
            "body_html": "",
        },
    )

    assert "{Preferred_Nme} is not a placeholder" in response.content.decode()


def test_the_owners_html_is_cleaned_of_scripts(owner_client):
    owner_client.post(
        reverse("automations:template_edit", args=["thankyou"]),
        {
            "subject": "Thanks",
            "body_text": "Hi {preferred_name}",
            "body_html": "<p>Hi {preferred_name}</p><script>alert(1)</script><a href='x' onclick='y()'>z</a>",
        },
    )

    html = template_get("thankyou").body_html
    assert "<script" not in html and "onclick" not in html and "Hi {preferred_name}" in html


def test_the_outbox_offers_resend_for_failed_and_a_separate_warned_step_for_unknown(owner_client):
    unknown = OutboundMessageFactory(
        status="unknown", status_reason="May have arrived (handed to the server at 10:42:07, no answer)"
    )
    OutboundMessageFactory(status="failed", status_reason="Gave up: the mail server did not take it within 24 hours")
    OutboundMessageFactory(status="sent", sent_at=timezone.now())
    OutboundMessageFactory(
        status="planned",
        planned_at=timezone.now() - timedelta(hours=3),
        status_reason="Quiet hours: waits until Tue 09:00",
    )

    page = owner_client.get(reverse("automations:outbox")).content.decode()
    assert page.count("Resend</button>") == 1  # the failed one, in one click
    assert "May have arrived (handed to the server at 10:42:07, no answer)" in page
    assert reverse("automations:resend_unknown", args=[unknown.pk]) in page  # not a one-click button
    assert "Resend all failed (1)" in page
    assert "Quiet hours: waits until Tue 09:00" in page
    only_sent = owner_client.get(reverse("automations:outbox"), {"status": "sent"}).content.decode()
    assert "Resend</button>" not in only_sent and "Quiet hours" not in only_sent


@pytest.mark.parametrize("rows", [1, 20])
def test_the_outbox_page_runs_a_fixed_number_of_queries(owner_client, rows):
    for _ in range(rows):
        OutboundMessageFactory()
    with CaptureQueriesContext(connection) as queries:
        assert owner_client.get(reverse("automations:outbox")).status_code == 200
    assert len(app_queries(queries)) <= 13  # 12, and one for the delivery rates (issue 17)


def test_the_owner_resends_a_failed_message_in_one_click_with_a_fresh_retry_window(
    owner_client, django_capture_on_commit_callbacks
):
    message = OutboundMessageFactory(status="failed", attempts=7, first_attempt_at=timezone.now() - timedelta(days=2))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(reverse("automations:resend", args=[message.pk]))

    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.first_attempt_at, message.attempts) == ("planned", None, 7)
    # A worker is asked to send it now (the other callback renews the customer's card in the cache).
    assert [c.__qualname__ for c in callbacks if "card" not in c.__qualname__] == [
        "enqueue_on_commit.<locals>.send_soon"
    ]


def test_an_unknown_message_cannot_be_resent_in_one_click(owner_client):
    message = OutboundMessageFactory(status="unknown")

    owner_client.post(reverse("automations:resend", args=[message.pk]))

    message.refresh_from_db()
    assert message.status == "unknown"


def test_resending_an_unknown_message_shows_the_warning_and_needs_the_tick_box(
    owner_client, django_capture_on_commit_callbacks
):
    message = OutboundMessageFactory(status="unknown", handed_over_at=timezone.now())
    url = reverse("automations:resend_unknown", args=[message.pk])

    page = owner_client.get(url).content.decode()
    assert "may already be in their inbox" in page and "handed to the mail server at" in page
    # Without the tick box: a clear message and nothing changes.
    refused = owner_client.post(url, {})
    assert refused.status_code == 400
    assert "Tick the box to confirm" in refused.content.decode()
    message.refresh_from_db()
    assert message.status == "unknown"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(url, {"confirm": "on"})

    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.handed_over_at) == ("planned", None)
    assert len(callbacks) == 1


def test_staff_cannot_resend_messages(staff_client):
    failed = OutboundMessageFactory(status="failed")
    unknown = OutboundMessageFactory(status="unknown")

    responses = [
        staff_client.post(reverse("automations:resend_failed")),
        staff_client.post(reverse("automations:resend_unknown", args=[unknown.pk]), {"confirm": "on"}),
    ]

    assert [r.status_code for r in responses] == [403, 403]
    failed.refresh_from_db()
    unknown.refresh_from_db()
    assert (failed.status, unknown.status) == ("failed", "unknown")


def test_resend_all_failed_replans_those_not_refused_and_leaves_unknown_and_refused_alone(owner_client):
    gave_up = OutboundMessageFactory.create_batch(
        3,
        status="failed",
        first_attempt_at=timezone.now(),
        status_reason="Gave up: the mail server did not take it within 24 hours",
    )
    refused = OutboundMessageFactory(status="failed", status_reason="Refused by the mail server")
    unknown = OutboundMessageFactory(status="unknown")

    response = owner_client.post(reverse("automations:resend_failed"))

    assert response.status_code == 302
    for message in gave_up:
        message.refresh_from_db()
        assert (message.status, message.first_attempt_at) == ("planned", None)
    refused.refresh_from_db()
    unknown.refresh_from_db()
    assert (refused.status, unknown.status) == ("failed", "unknown")
    page = owner_client.get(reverse("automations:outbox")).content.decode()
    assert "3 failed messages will be sent again." in page


def test_the_outbox_says_since_when_the_mail_server_has_not_answered_and_how_many_wait(owner_client):
    from automations.models import OutboxControl
    from crm.models import ShopSettings

    now = timezone.now()
    OutboundMessageFactory.create_batch(1204, planned_at=now - timedelta(minutes=30))
    OutboundMessageFactory(planned_at=now + timedelta(days=1))  # not due yet: not waiting
    control = OutboxControl.load()
    control.mail_down_since, control.mail_retry_at = now - timedelta(minutes=18), now + timedelta(minutes=4)
    control.save()

    page = owner_client.get(reverse("automations:outbox")).content.decode()

    since = control.mail_down_since.astimezone(ShopSettings.load().tz)  # shown in the shop's time zone
    assert f"The mail server has not answered since {since:%H:%M}" in page
    assert "; 1,204 messages are waiting." in page


def test_a_sent_message_cannot_be_resent(owner_client):
    message = OutboundMessageFactory(status="sent")

    owner_client.post(reverse("automations:resend", args=[message.pk]))

    message.refresh_from_db()
    assert message.status == "sent"


def test_staff_approve_a_draft_with_a_personal_line(staff_client):
    draft = OutboundMessageFactory(status="draft", planned_at=timezone.now() + timedelta(days=1))

    page = staff_client.get(reverse("automations:review")).content.decode()
    assert f"draft-{draft.pk}" in page
    response = staff_client.post(
        reverse("automations:review_decide", args=[draft.pk, "approve"]),
        {f"m{draft.pk}-personal_line": "Hope the new puppy is settling in!"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.status, draft.personal_line) == ("planned", "Hope the new puppy is settling in!")


def test_a_draft_can_be_skipped_and_a_decided_one_is_not_decided_twice(staff_client):
    draft = OutboundMessageFactory(status="draft")

    staff_client.post(reverse("automations:review_decide", args=[draft.pk, "skip"]))
    response = staff_client.post(
        reverse("automations:review_decide", args=[draft.pk, "approve"]), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 400
    draft.refresh_from_db()
    assert draft.status == "cancelled"


def test_the_personal_line_is_in_the_sent_email(client, staff, mailoutbox, time_machine):
    from automations.sender import message_send
    from tests.automations.conftest import at

    time_machine.move_to(at("2027-06-15 11:00"), tick=False)
    client.force_login(staff)  # a session from today's real clock would have expired by 2027
    draft = OutboundMessageFactory(status="draft")
    client.post(
        reverse("automations:review_decide", args=[draft.pk, "approve"]),
        {f"m{draft.pk}-personal_line": "Say hi to Rex!"},
    )

    assert message_send(message_id=draft.pk) == "sent"
    assert "Say hi to Rex!" in mailoutbox[0].body
