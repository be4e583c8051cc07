"""One test per finding of the attacker's-eye review (issue 15); each failed before its fix.

1. a customer's text became a `javascript:` link in an email;
2. one huge cadence broke logging and the nightly recompute;
3. a CSV with 100,000 columns tied up a worker;
4. a line break in a subject broke sending;
5. the profile link was too loose;
6. the smaller ones: Square's `Last Name`, unclosed quotes, UTF-16, a touchpoint dated 1900,
   gift-code guessing, no-store, dropped images, a 400 without a reason, idle sessions, password reset.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from automations.links import profile_url
from automations.models import OutboundMessage
from automations.sender import message_send
from automations.services import message_template_update
from community.models import Newsletter
from customers.models import Customer
from tests.factories import CustomerFactory, NewsletterFactory, ProductFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def noon(time_machine):
    """A Wednesday at noon in the shop (London): inside the sending hours."""
    time_machine.move_to("2026-06-10 12:00:00+01:00", tick=False)


JS = "javascript:alert(document.domain)"


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


# --- 1. placeholders cannot make a link -------------------------------------------------------


def test_a_preferred_name_in_a_newsletter_link_never_becomes_a_javascript_href(owner_client, owner):
    customer = CustomerFactory(preferred_name=JS)
    newsletter = NewsletterFactory(subject="Hi", body="See [our page]({preferred_name}) soon.")
    newsletter.segment.filters = {}
    newsletter.segment.save()
    response = owner_client.get(reverse("community:newsletter_detail", args=[newsletter.pk]), {"customer": customer.pk})
    assert 'href="javascript' not in response.content.decode().lower()
    owner_client.post(reverse("community:newsletter_test", args=[newsletter.pk]), {"customer": customer.pk})
    html = mail.outbox[-1].alternatives[0][0]
    assert 'href="javascript' not in html.lower()


def test_a_preferred_name_in_an_automation_href_never_becomes_a_javascript_href(owner, noon):
    customer = CustomerFactory(preferred_name=JS)
    message_template_update(
        kind="thankyou",
        updated_by=owner,
        subject="Thanks {preferred_name}",
        body_text="Hi {preferred_name}",
        body_html='<p><a href="{preferred_name}">me</a></p>',
    )
    message = OutboundMessage.objects.create(
        customer=customer,
        recipient_key=f"c:{customer.pk}",
        kind="thankyou",
        occasion_key="t1",
        planned_at=timezone.now(),
        to_email=customer.email,
    )
    assert message_send(message_id=message.pk) == "sent"
    html = mail.outbox[-1].alternatives[0][0]
    assert 'href="javascript' not in html.lower()


# --- 2. a huge cadence ------------------------------------------------------------------------


def test_a_cadence_of_a_billion_days_is_refused_with_a_reason(staff_client):
    customer = CustomerFactory(first_name="Ada")
    response = staff_client.post(
        reverse("customers:update", args=[customer.pk]), {"first_name": "Ada", "cadence_days": "1000000000"}
    )
    assert response.status_code == 400
    assert "3,650" in response.content.decode() or "3650" in response.content.decode()
    customer.refresh_from_db()
    assert customer.cadence_days is None


def test_the_database_refuses_a_cadence_past_ten_years():
    from django.db import IntegrityError, connection, transaction

    from tests.conftest import skip_or_fail

    if connection.vendor != "postgresql":
        skip_or_fail("The customer table's CHECK constraints are added on PostgreSQL only (see crm.migration_ops)")

    customer = CustomerFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(cadence_days=1_000_000_000)


# --- 3. a wide CSV ----------------------------------------------------------------------------


def test_a_csv_with_more_than_200_columns_is_refused_at_upload(owner_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    header = ",".join(f"c{i}" for i in range(100_000))
    upload = SimpleUploadedFile("wide.csv", (header + "\n" + "a," * 5 + "\n").encode(), content_type="text/csv")
    response = owner_client.post(reverse("dataio:import_upload"), {"file": upload})
    assert response.status_code == 400
    assert "200 columns" in response.content.decode()
    assert len(response.content) < 200_000


# --- 4. CR/LF in a subject --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name,data",
    [
        ("community:newsletter_create", {"subject": "Hi\r\nBcc: x@evil.example", "body": "Hello"}),
        (
            "community:event_create",
            {
                "title": "Hi\r\nBcc: x@evil.example",
                "starts_at": "2030-01-01T10:00",
                "ends_at": "2030-01-01T12:00",
                "capacity": "10",
                "max_guests": "1",
            },
        ),
    ],
)
def test_a_line_break_in_a_header_field_is_refused(owner_client, url_name, data):
    if "segment" not in data and url_name == "community:newsletter_create":
        from tests.factories import SegmentFactory

        data = {**data, "segment": SegmentFactory().pk}
    response = owner_client.post(reverse(url_name), data)
    assert response.status_code == 400
    assert "line break" in response.content.decode()


def test_a_line_break_in_a_template_subject_is_refused(owner_client):
    response = owner_client.post(
        reverse("automations:template_edit", args=["thankyou"]),
        {"subject": "Hi\r\nBcc: x@evil.example", "body_text": "Hello"},
    )
    assert response.status_code == 400
    assert "line break" in response.content.decode()


def test_an_old_subject_with_a_line_break_still_sends_a_test_and_a_message(owner_client, owner, noon):
    newsletter = NewsletterFactory()
    Newsletter.objects.filter(pk=newsletter.pk).update(subject="Hi\r\nBcc: x@evil.example")
    response = owner_client.post(reverse("community:newsletter_test", args=[newsletter.pk]))
    assert response.status_code == 302
    assert "\n" not in mail.outbox[-1].subject and "Bcc" not in mail.outbox[-1].bcc
    customer = CustomerFactory(preferred_name="Ann\r\nBcc: x@evil.example")
    message = OutboundMessage.objects.create(
        customer=customer,
        recipient_key=f"c:{customer.pk}",
        kind="thankyou",
        occasion_key="t2",
        planned_at=timezone.now(),
        to_email=customer.email,
    )
    assert message_send(message_id=message.pk) == "sent"
    assert "\n" not in mail.outbox[-1].subject


# --- 5. the profile link ----------------------------------------------------------------------


def _profile_customer() -> Customer:
    customer = CustomerFactory(preferred_name="Annie", birthday_day=3, birthday_month=4, email_consent=True)
    customer.favourite_products.add(ProductFactory(name="Espresso"))
    return customer


def test_an_empty_post_to_the_profile_link_changes_nothing(client):
    customer = _profile_customer()
    # What a browser sends for a form with nothing filled in: only the CSRF token's field.
    client.post(_path(profile_url(customer_id=customer.pk)), {"csrfmiddlewaretoken": "x"})
    customer.refresh_from_db()
    assert (customer.preferred_name, customer.birthday_day, customer.birthday_month, customer.email_consent) == (
        "Annie",
        3,
        4,
        True,
    )
    assert [p.name for p in customer.favourite_products.all()] == ["Espresso"]


def test_a_profile_link_works_for_one_save_only(client):
    customer = _profile_customer()
    path = _path(profile_url(customer_id=customer.pk))
    client.post(path, {"preferred_name": "Ann"})
    customer.refresh_from_db()
    assert customer.preferred_name == "Ann"
    response = client.post(path, {"preferred_name": "Mallory"})
    customer.refresh_from_db()
    assert customer.preferred_name == "Ann"
    assert response.status_code == 410


def test_a_consent_change_through_the_profile_link_waits_for_the_email_confirmation(client):
    customer = CustomerFactory(email_consent=False, consent_method="")
    client.post(_path(profile_url(customer_id=customer.pk)), {"email_consent": "yes"})
    customer.refresh_from_db()
    assert customer.email_consent is False
    assert OutboundMessage.objects.filter(customer=customer, kind="profile_confirm").exists()


# --- 6. the smaller ones ----------------------------------------------------------------------


def test_a_square_export_with_last_name_is_read_as_square_with_its_subscription_column(owner):
    from dataio.services import import_job_create

    raw = (
        b"First Name,Last Name,Email Address,Phone Number,Birthday,Email Subscription Status\n"
        b"Ann,Lee,ann@example.com,,04/03/1990,subscribed\n"
    )
    job = import_job_create(uploaded_by=owner, file_name="square.csv", raw=raw)
    assert job.detected_format == "square"
    assert job.mapping["5"] == "email_consent"
    assert job.date_order == "mdy"  # Square documents its dates month first: not a guess


def test_a_spreadsheet_whose_dates_read_either_way_asks_the_date_order(owner):
    from dataio.services import import_job_create

    raw = b"First Name,Email,Birthday\nAnn,ann@example.com,04/03/1990\nBob,bob@example.com,05/06/1980\n"
    job = import_job_create(uploaded_by=owner, file_name="sheet.csv", raw=raw)
    assert job.detected_format == "generic"
    assert job.date_order == ""  # the owner is asked


def test_an_unclosed_quote_is_an_error_on_its_row_with_the_line_number(owner):
    from dataio.services import (
        import_job_check,
        import_job_configure,
        import_job_create,
    )

    raw = b'First name,Email\nAnn,ann@example.com\n"Bob,bob@example.com\nCyd,cyd@example.com\n'
    job = import_job_create(uploaded_by=owner, file_name="q.csv", raw=raw)
    import_job_configure(job=job, configured_by=owner, mapping=job.mapping, date_order="dmy")
    checked = import_job_check(job_id=job.pk)
    assert checked is not None  # configured, so it is waiting for its check
    job = checked
    assert any(e["row"] == 3 and "quote" in e["reason"] for e in job.errors)


def test_a_utf16_file_with_a_bom_is_read(owner):
    from dataio.services import import_job_create

    raw = "First name,Email\nZoë,zoe@example.com\n".encode("utf-16")
    job = import_job_create(uploaded_by=owner, file_name="u16.csv", raw=raw)
    assert job.total_rows == 1 and "Zoë" in job.text


def test_a_touchpoint_dated_1900_is_refused(staff_client):
    customer = CustomerFactory()
    response = staff_client.post(
        reverse("touchpoints:create", args=[customer.pk]), {"kind": "visit", "happened_at": "1900-01-01T10:00"}
    )
    assert response.status_code == 400
    assert not Touchpoint.objects.filter(customer=customer).exists()


def test_gift_code_guessing_is_rate_limited(staff_client, settings, time_machine):
    # The counters are per fixed minute: a minute turning over mid-test let the 40 guesses through (flaky).
    settings.RATELIMIT_GIFT_CODES = "30/m"
    time_machine.move_to("2026-06-10 12:00:05+01:00", tick=False)
    statuses = [staff_client.post(reverse("gifts:redeem"), {"code": f"WRONG{i:04d}"}).status_code for i in range(31)]
    assert 429 not in statuses[:30] and statuses[30] == 429


def test_logged_in_pages_and_exports_are_not_stored(owner_client):
    for name in ("customers:my_day", "dataio:export_customers"):
        response = owner_client.get(reverse(name))
        assert "no-store" in response.get("Cache-Control", ""), name


def test_a_newsletter_with_an_image_warns_that_it_is_dropped(owner_client):
    newsletter = NewsletterFactory(body="Look: ![cake](https://example.com/cake.png)")
    response = owner_client.get(reverse("community:newsletter_detail", args=[newsletter.pk]))
    assert "image" in response.content.decode().lower() and "dropped" in response.content.decode().lower()


def test_an_over_long_upload_name_gets_a_reason(owner_client):
    from django.test.client import BOUNDARY

    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{"x" * 2000}.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\nFirst name\nAnn\n\r\n--{BOUNDARY}--\r\n"
    ).encode()
    response = owner_client.generic(
        "POST", reverse("dataio:import_upload"), body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )
    assert response.status_code == 400
    assert "file name longer than 255 characters" in response.content.decode()


def test_an_idle_session_ends_after_the_timeout(staff_client, settings, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    assert staff_client.get(reverse("customers:my_day")).status_code == 200
    time_machine.move_to(timezone.now() + timedelta(hours=8, minutes=1), tick=False)
    response = staff_client.get(reverse("customers:my_day"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_staff_can_reset_a_forgotten_password_by_email_and_the_owner_is_told(
    client, staff, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": staff.email})
    assert response.status_code == 302
    assert any(staff.email in m.to for m in mail.outbox)
    assert any(owner.email in m.to for m in mail.outbox)


def test_a_403_and_a_404_are_each_logged_in_one_line_with_who_asked(staff_client, staff, caplog):
    import logging

    with caplog.at_level(logging.WARNING, logger="rapport.access"):
        staff_client.get(reverse("shop:settings"))
        staff_client.get("/no-such-page/")
    lines = [r.getMessage() for r in caplog.records if r.name == "rapport.access"]
    assert lines == [
        f"403 GET /settings/shop/ by user {staff.pk} from 127.0.0.1",
        f"404 GET /no-such-page/ by user {staff.pk} from 127.0.0.1",
    ]
