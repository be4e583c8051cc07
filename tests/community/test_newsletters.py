"""Newsletters: composing, previewing, planning into the outbox once, the report."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from automations.models import OutboundMessage
from community.models import Newsletter
from community.rendering import markdown_to_html, newsletter_render_for
from community.services import newsletter_plan, newsletter_schedule, newsletters_plan_due
from tests.factories import CustomerFactory, NewsletterFactory, ProductFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def rows(newsletter):
    return OutboundMessage.objects.filter(kind="newsletter", occasion_key=f"newsletter:{newsletter.pk}")


def test_sending_now_plans_one_row_per_consenting_member_with_an_address(owner, django_capture_on_commit_callbacks):
    wine = SegmentFactory(filters={"consent": ""})
    yes = CustomerFactory.create_batch(3)
    no_consent = CustomerFactory(email_consent=False)
    no_email = CustomerFactory(email="")
    archived = CustomerFactory(is_archived=True)
    newsletter = NewsletterFactory(segment=wine)

    with django_capture_on_commit_callbacks(execute=True):
        newsletter_schedule(newsletter=newsletter, send_at=None, scheduled_by=owner)

    newsletter.refresh_from_db()
    planned = rows(newsletter)
    assert newsletter.status == Newsletter.Status.PLANNED
    assert set(planned.values_list("customer_id", flat=True)) == {c.pk for c in yes}
    assert {no_consent.pk, no_email.pk, archived.pk}.isdisjoint(planned.values_list("customer_id", flat=True))
    assert (newsletter.planned_count, newsletter.skipped_count) == (3, 2)
    row = planned.get(customer=yes[0])
    assert (row.recipient_key, row.status, row.to_email) == (f"c:{yes[0].pk}", "planned", yes[0].email)
    assert row.context == {"newsletter_id": newsletter.pk}


def test_planning_twice_adds_no_second_row_for_anyone(owner):
    CustomerFactory.create_batch(4)
    newsletter = NewsletterFactory()
    newsletter_schedule(newsletter=newsletter, send_at=timezone.now() + timedelta(hours=1), scheduled_by=owner)
    later = timezone.now() + timedelta(hours=2)

    # The newsletter is put back to "scheduled" as if a second worker ran the same plan.
    first = newsletter_plan(newsletter_id=newsletter.pk, now=later)
    Newsletter.objects.filter(pk=newsletter.pk).update(status=Newsletter.Status.SCHEDULED)
    CustomerFactory()  # someone new joined the segment in between
    second = newsletter_plan(newsletter_id=newsletter.pk, now=later)

    assert first == 4
    assert rows(newsletter).count() == 5
    assert rows(newsletter).values("customer_id").distinct().count() == 5
    assert second == 1  # only the newcomer: the UNIQUE constraint dropped the four repeats


def test_a_newsletter_scheduled_for_later_is_planned_only_when_its_time_comes(owner):
    CustomerFactory.create_batch(2)
    newsletter = NewsletterFactory()
    tz = ZoneInfo("Europe/London")
    send_at = datetime(2030, 7, 1, 9, 30, tzinfo=tz)
    with time_machine.travel(datetime(2030, 6, 30, 12, tzinfo=tz), tick=False):
        newsletter_schedule(newsletter=newsletter, send_at=send_at, scheduled_by=owner)
        assert newsletters_plan_due() == 0
    with time_machine.travel(datetime(2030, 7, 1, 9, 31, tzinfo=tz), tick=False):
        assert newsletters_plan_due() == 2
        assert newsletters_plan_due() == 0

    assert set(rows(newsletter).values_list("planned_at", flat=True)) == {send_at}


def test_a_time_in_the_past_is_refused_and_nothing_changes(owner):
    newsletter = NewsletterFactory()

    with pytest.raises(Exception, match="passed"):
        newsletter_schedule(newsletter=newsletter, send_at=timezone.now() - timedelta(hours=1), scheduled_by=owner)
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.DRAFT


def test_the_markdown_becomes_clean_html_and_placeholders_are_filled_and_escaped():
    product = ProductFactory(name="Rioja")
    customer = CustomerFactory(preferred_name="<b>Bo</b>")
    customer.favourite_products.set([product])
    newsletter = NewsletterFactory(
        subject="Hi {preferred_name}",
        body="Hello {preferred_name}, your **{favourite_product}** is in.\n\n<script>alert(1)</script>"
        "[x](javascript:alert(1)) <img src=x onerror=alert(1)>",
    )

    email = newsletter_render_for(newsletter=newsletter, customer=customer)

    assert email.subject == "Hi <b>Bo</b>"  # plain-text subject: nothing to escape
    assert "<strong>Rioja</strong>" in email.html
    assert "&lt;b&gt;Bo&lt;/b&gt;" in email.html
    assert "<script" not in email.html and "javascript:" not in email.html and "onerror" not in email.html
    assert email.text.startswith("Hello <b>Bo</b>, your **Rioja** is in.")


def test_markdown_keeps_links_lists_and_headings():
    html = markdown_to_html("# News\n\n- one\n- two\n\n[Our site](https://shop.example)")

    assert "<h1>News</h1>" in html and "<li>one</li>" in html
    assert 'href="https://shop.example"' in html


# --- pages ---------------------------------------------------------------------------


def test_staff_cannot_open_newsletters(staff_client):
    newsletter = NewsletterFactory()

    assert staff_client.get(reverse("community:newsletter_list")).status_code == 403
    assert staff_client.get(reverse("community:newsletter_detail", args=[newsletter.pk])).status_code == 403
    assert (
        staff_client.post(reverse("community:newsletter_send", args=[newsletter.pk]), {"when": "now"}).status_code
        == 403
    )
    assert not OutboundMessage.objects.exists()


def test_the_owner_writes_previews_and_sends_a_newsletter(owner_client, django_capture_on_commit_callbacks):
    segment = SegmentFactory(name="Everyone")
    CustomerFactory(first_name="Ben")
    anna = CustomerFactory(first_name="Zoe", preferred_name="Annie")  # not the first: the choice must count

    response = owner_client.post(
        reverse("community:newsletter_create"),
        {"subject": "Autumn at {shop_name}", "segment": segment.pk, "body": "Hi {preferred_name}, *new* coffee!"},
    )
    newsletter = Newsletter.objects.get()
    assert response.status_code == 302

    page = owner_client.get(reverse("community:newsletter_detail", args=[newsletter.pk]), {"customer": anna.pk})
    assert "Hi Annie, <em>new</em> coffee!" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("community:newsletter_send", args=[newsletter.pk]), {"when": "now"})
    assert rows(newsletter).count() == 2

    report = owner_client.get(reverse("community:newsletter_detail", args=[newsletter.pk]))
    assert 'data-testid="report-planned">2<' in report.content.decode()


def test_a_test_email_goes_to_the_owner_as_the_previewed_customer_would_get_it(owner_client, owner):
    anna = CustomerFactory(preferred_name="Annie")
    newsletter = NewsletterFactory(body="Hello {preferred_name}")

    owner_client.post(reverse("community:newsletter_test", args=[newsletter.pk]), {"customer": anna.pk})

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]
    assert mail.outbox[0].subject.startswith("[Test]")
    assert "Hello Annie" in mail.outbox[0].body
    assert not OutboundMessage.objects.exists()  # a test is no customer message


def test_the_test_email_is_built_like_the_real_one_with_footer_and_links_and_marked_as_a_test(owner_client, owner):
    from automations.links import profile_url, unsubscribe_url

    anna = CustomerFactory(first_name="Anna", preferred_name="Annie")
    newsletter = NewsletterFactory(body="Hello {preferred_name}")

    # Frozen: the unsubscribe link is signed with the time, to the second.
    with time_machine.travel(timezone.now(), tick=False):
        owner_client.post(reverse("community:newsletter_test", args=[newsletter.pk]), {"customer": anna.pk})
        expected_unsubscribe = unsubscribe_url(recipient_key=f"c:{anna.pk}")

    [email] = mail.outbox
    html = str(email.alternatives[0][0])
    # The same footer and links the sender adds to every real email, for the previewed customer...
    assert expected_unsubscribe in email.body
    assert profile_url(customer_id=anna.pk).split("/profile/")[0] in email.body
    assert "Unsubscribe" in html and "Keep your details up to date" in html
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # ...and plainly a test.
    assert email.body.startswith("[TEST]") and email.extra_headers["X-Rapport-Test"] == "yes"
    assert "<strong>Test</strong>" in html


def test_an_unknown_placeholder_is_refused_on_save_and_nothing_is_saved(owner_client):
    segment = SegmentFactory()

    response = owner_client.post(
        reverse("community:newsletter_create"),
        {"subject": "Hi", "segment": segment.pk, "body": "Hello {prefered_name}"},
    )

    assert response.status_code == 400
    assert "not a placeholder" in response.content.decode()
    assert not Newsletter.objects.exists()


def test_a_planned_newsletter_can_no_longer_be_edited(owner_client, owner, django_capture_on_commit_callbacks):
    CustomerFactory()
    newsletter = NewsletterFactory(subject="Before")
    with django_capture_on_commit_callbacks(execute=True):
        newsletter_schedule(newsletter=newsletter, send_at=None, scheduled_by=owner)

    response = owner_client.post(
        reverse("community:newsletter_edit", args=[newsletter.pk]),
        {"subject": "After", "segment": newsletter.segment_id, "body": "x"},
    )

    newsletter.refresh_from_db()
    assert response.status_code == 302
    assert newsletter.subject == "Before"


def test_the_report_counts_each_status_and_who_unsubscribed_after_it_arrived(owner):
    from automations.models import EmailOptOut
    from community.selectors import newsletter_report

    newsletter = NewsletterFactory(status=Newsletter.Status.PLANNED)
    sent_at = timezone.now() - timedelta(hours=1)
    left_after, left_before, stayed, bounced = CustomerFactory.create_batch(4)
    for customer, status in ((left_after, "sent"), (left_before, "sent"), (stayed, "sent"), (bounced, "failed")):
        OutboundMessage.objects.create(
            customer=customer,
            recipient_key=f"c:{customer.pk}",
            kind="newsletter",
            occasion_key=newsletter.occasion_key,
            status=status,
            planned_at=sent_at,
            sent_at=sent_at if status == "sent" else None,
        )
    EmailOptOut.objects.create(customer=left_after, via="link")
    EmailOptOut.objects.filter(customer=left_before).delete()
    early = EmailOptOut.objects.create(customer=left_before, via="link")
    EmailOptOut.objects.filter(pk=early.pk).update(created_at=sent_at - timedelta(days=1))

    report = newsletter_report(newsletter)

    assert (report["sent"], report["failed"], report["planned"], report["total"]) == (3, 1, 0, 4)
    assert report["unsubscribed"] == 1


def test_a_chosen_send_time_is_read_in_the_shops_time_zone(owner_client):
    newsletter = NewsletterFactory()

    owner_client.post(
        reverse("community:newsletter_send", args=[newsletter.pk]), {"when": "later", "send_at": "2031-07-01T09:30"}
    )

    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.SCHEDULED
    # 09:30 in London in July (BST, UTC+1) is 08:30 UTC.
    assert newsletter.send_at == datetime(2031, 7, 1, 8, 30, tzinfo=ZoneInfo("UTC"))
    assert not rows(newsletter).exists()  # planned when that time comes, not before


def test_later_without_a_time_is_refused_and_nothing_changes(owner_client):
    newsletter = NewsletterFactory()

    response = owner_client.post(
        reverse("community:newsletter_send", args=[newsletter.pk]), {"when": "later"}, follow=True
    )

    newsletter.refresh_from_db()
    assert "Pick the date and time" in response.content.decode()
    assert newsletter.status == Newsletter.Status.DRAFT
