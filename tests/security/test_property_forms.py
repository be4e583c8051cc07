"""Random text, numbers and dates into every form and the service behind it: no unhandled exception.

Each example fills every field of a form with something Hypothesis picks (any Unicode text, NUL and
line breaks included; huge, negative and fractional numbers; dates from year 1 to 9999; empty), and,
when the form accepts it, calls the service the view would call, inside a transaction rolled back
afterwards. A ValidationError is a clear "no"; anything else (OverflowError, DataError, a 500) fails.
A few pages are driven through the test client instead, where the view does the wiring (the customer
list, issuing a gift, an upload, and the public login, forgot-password and set-new-password pages).

`make test` runs 100 examples per form; `make test-property` runs the full 1,000 (141 s on a quiet
2-core machine, 16 minutes on a busy one); HYPOTHESIS_EXAMPLES sets any other number. See docs/security.md.
"""

import os
from contextlib import contextmanager
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from axes.models import AccessAttempt
from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.forms import HandoverForm, PasswordResetForm, StaffCreateForm
from accounts.password_reset import StaffPasswordResetForm
from accounts.services import staff_create, staff_handover, staff_set_password
from api.forms import ApiKeyForm
from api.services import api_key_create
from automations.emails import placeholder_values, render_template_for
from automations.forms import ApproveForm, AutomationForm, ResendUnknownForm, TemplateForm
from automations.models import Automation, OutboundMessage
from automations.services import (
    automation_get,
    automation_update,
    message_approve,
    message_resend_unknown,
    message_template_update,
)
from community import services as community_services
from community.forms import (
    EventForm,
    InviteForm,
    NewsletterForm,
    NewsletterSendForm,
    ProfileForm,
    ProfileLinkRequestForm,
    RsvpForm,
    SegmentForm,
)
from community.rendering import newsletter_render_for
from community.selectors import segment_count
from crm.forms import ShopSettingsForm
from crm.models import ShopSettings
from crm.services import shop_settings_update
from customers.forms import CustomerForm, FollowUpForm, ImportantDateForm, SnoozeForm
from customers.services import (
    customer_create,
    followup_open,
    followup_snooze,
    important_date_add,
)
from dataio.forms import EraseForm, MappingForm, StartForm
from dataio.models import ImportJob
from dataio.services import customer_erase, import_job_configure, import_job_create, import_job_start
from gifts.forms import RedeemForm
from gifts.services import gift_code_redeem
from mailevents.forms import CalendarFeedForm
from mailevents.services import calendar_feed_create
from tests.factories import (
    DEMO_PASSWORD,
    CustomerFactory,
    EventFactory,
    FollowUpFactory,
    InvitationFactory,
    NewsletterFactory,
    OutboundMessageFactory,
    OwnerFactory,
    ProductFactory,
    SegmentFactory,
    StaffFactory,
    TagFactory,
)
from tills.forms import ConnectForm
from tills.services import till_connect
from touchpoints.forms import TouchpointForm
from touchpoints.services import touchpoint_log

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "100"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# One value for one field: text (any Unicode), numbers (as typed), dates and datetimes, limits, nothing.
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        [
            "0",
            "-1",
            "1",
            "100",
            "365",
            "366",
            "3650",
            "3651",
            "1899",
            "1900",
            "9999",
            "2147483648",
            "99999999.99",
            "100000000",
            "1e9",
            "1E400",
            "NaN",
            "Infinity",
            "-0",
            "0.001",
            "1,5",
            "１２",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
)
DATES = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
    st.sampled_from(
        ["1900-01-01", "1899-12-31", "2000-02-30", "0000-00-00", "9999-12-31T23:59", "31/12/1990", "2024-02-29T24:00"]
    ),
)
TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=90, max_size=12_000),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\r\nBcc: x@evil.example",
            "javascript:alert(1)",
            "<script>alert(1)</script>",
            "{preferred_name}",
            "{gift_code}",
            "{",
            "}",
            "yes",
            "no",
            "on",
            "going",
            "percent",
            "amount",
            "product",
            "now",
            "later",
            "all",
            "valid",
            "skip",
            "update",
            "dmy",
            "mdy",
            "Owner",
            "Staff",
            "ada@example.com",
            "ADA@Example.COM ",
        ]
    ),
)
VALUE = st.one_of(TEXT, NUMBERS, DATES)


def field_value(field: forms.Field) -> st.SearchStrategy:
    """Any value, or one of the field's own choices: random text alone almost never passes a choice field,
    and then the service behind the form would never run."""
    if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
        own = [str(value) for value, _ in field.choices if value != ""]
        if own:
            return st.one_of(st.sampled_from(own), VALUE)
    return VALUE


def form_data(form_class, **form_kwargs) -> st.SearchStrategy:
    """A strategy for the POST of `form_class`: every field gets one or two values of any kind (or is left out)."""
    fields = form_class(**form_kwargs).fields
    return st.fixed_dictionaries(
        {}, optional={name: st.lists(field_value(field), min_size=1, max_size=2) for name, field in fields.items()}
    ).map(MultiValueDict)


def near(form_class, base: dict[str, str], **form_kwargs) -> st.SearchStrategy:
    """A valid POST (`base`) with one or two of its fields replaced by anything: random values in every field
    are almost always refused before the service, so the service behind a form with several required
    fields would rarely run."""
    fields = form_class(**form_kwargs).fields
    return (
        st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=2, unique=True)
        .flatmap(lambda names: st.fixed_dictionaries({n: st.lists(field_value(fields[n]), max_size=2) for n in names}))
        .map(lambda over: MultiValueDict({**{k: [v] for k, v in base.items()}, **over}))
    )


IN_A_MONTH = (date.today() + timedelta(days=30)).isoformat()
VALID = {
    CustomerForm: {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "cadence_days": "30"},
    ShopSettingsForm: {
        "name": "Shop",
        "time_zone": "Europe/London",
        "currency": "GBP",
        "phone_region": "GB",
        "default_cadence_days": "60",
        "opened_on": "2000-01-01",
        "max_amount": "10000",
    },
    EventForm: {
        "title": "Tasting",
        "starts_at": f"{IN_A_MONTH}T10:00",
        "ends_at": f"{IN_A_MONTH}T12:00",
        "capacity": "10",
        "max_guests": "2",
    },
    StaffCreateForm: {
        "username": "sam",
        "first_name": "Sam",
        "role": "Staff",
        "password1": "a long Passw0rd!",
        "password2": "a long Passw0rd!",
    },
    ProfileLinkRequestForm: {"email": "ada@example.com"},
}


def any_or_near(form_class, **form_kwargs) -> st.SearchStrategy:
    """Anything in every field, or a valid POST with one or two fields changed (see `near`)."""
    return st.one_of(form_data(form_class, **form_kwargs), near(form_class, VALID[form_class], **form_kwargs))


@pytest.mark.parametrize("form_class", list(VALID), ids=lambda f: f.__name__)
def test_the_valid_posts_the_strategies_start_from_are_valid(world, form_class):
    kwargs: dict[str, object] = {"region": "GB"} if form_class is CustomerForm else {}
    if form_class is ShopSettingsForm:
        kwargs = {"instance": ShopSettings.load()}
    form = form_class(data=VALID[form_class], **kwargs)
    assert form.is_valid(), form.errors


@contextmanager
def rolled_back():
    """Run the service, then undo it: each example starts from the same rows."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def drive(form, service) -> None:
    """Validate; if valid, call the service in a transaction rolled back. Only ValidationError may come out."""
    if not form.is_valid():
        assert form.errors, "a refused form must say why"
        return
    with rolled_back():
        try:
            service(form.cleaned_data)
        except ValidationError:
            pass


@pytest.fixture
def world(db):
    """The rows the services need: an owner, a customer with friends, products, tags, an event, a newsletter."""
    owner = OwnerFactory()
    customer = CustomerFactory(first_name="Ada", last_name="Lovelace")
    ProductFactory(name="Espresso")
    TagFactory(name="regular")
    event = EventFactory(capacity=5, max_guests=3)
    staff = StaffFactory()
    CustomerFactory(owner=staff)  # something to hand over
    FollowUpFactory(customer=customer, assignee=staff)
    return {
        "owner": owner,
        "customer": customer,
        "event": event,
        "invitation": InvitationFactory(event=event, customer=customer),
        "followup": FollowUpFactory(customer=customer),
        "segment": SegmentFactory(),
        "newsletter": NewsletterFactory(),
        "staff": staff,
        "import_job": _checked_import_job(owner),
    }


def _checked_import_job(owner) -> ImportJob:
    """A small uploaded file whose rows have been checked (one valid, one not): ready to map again or to start."""
    raw = b"First name,Email,Birthday,Notes\nGrace,grace@example.com,1990-03-04,x\n,not-an-email,1990-13-40,y\n"
    job = import_job_create(uploaded_by=owner, file_name="friends.csv", raw=raw)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CHECKED, valid_rows=1, error_rows=1)
    job.refresh_from_db()
    return job


@PROPERTY
@given(data=any_or_near(CustomerForm))
def test_customer_form_and_customer_create(world, data):
    drive(CustomerForm(data=data, region="GB"), lambda d: customer_create(created_by=world["owner"], **d))


@PROPERTY
@given(data=form_data(ImportantDateForm))
def test_important_date_form(world, data):
    drive(
        ImportantDateForm(data=data),
        lambda d: important_date_add(
            customer=world["customer"],
            added_by=world["owner"],
            label=d["label"],
            day=d["day"],
            month=d["month"],
            year=d["year"],
        ),
    )


@PROPERTY
@given(data=form_data(FollowUpForm))
def test_followup_form(world, data):
    drive(
        FollowUpForm(data=data),
        lambda d: followup_open(
            customer=world["customer"],
            reason=d["reason"],
            due_date=d["due_date"],
            opened_by=world["owner"],
            assignee=d["assignee"],
        ),
    )


@PROPERTY
@given(data=form_data(SnoozeForm))
def test_snooze_form(world, data):
    drive(
        SnoozeForm(data=data),
        lambda d: followup_snooze(
            followup=world["followup"], snoozed_by=world["owner"], days=d["days"], today=timezone.localdate()
        ),
    )


@PROPERTY
@given(data=form_data(TouchpointForm))
def test_touchpoint_form_and_logging(world, data):
    drive(
        TouchpointForm(data=data), lambda d: touchpoint_log(customer=world["customer"], logged_by=world["owner"], **d)
    )


@PROPERTY
@given(data=any_or_near(ShopSettingsForm, instance=ShopSettings(pk=1)))
def test_shop_settings_form(world, data):
    drive(
        ShopSettingsForm(data=data, instance=ShopSettings.load()),
        lambda d: shop_settings_update(updated_by=world["owner"], **d),
    )


@PROPERTY
@given(
    data=form_data(AutomationForm, instance=Automation(kind="birthday")),
    kind=st.sampled_from(["thankyou", "birthday", "loyalty", "referral", "gift_expiry"]),
)
def test_automation_form(world, data, kind):
    automation = automation_get(kind)
    drive(
        AutomationForm(data=data, instance=automation),
        lambda d: automation_update(automation=automation, updated_by=world["owner"], **d),
    )


@PROPERTY
@given(data=form_data(TemplateForm, kind="birthday"), kind=st.sampled_from(["thankyou", "birthday", "wemissyou"]))
def test_template_form_and_its_email(world, data, kind):
    def service(d):
        template = message_template_update(kind=kind, updated_by=world["owner"], **d)
        values = placeholder_values(customer=world["customer"], message=None, shop=ShopSettings.load())
        values.update(gift_code="ABCD-EFGH", gift_expiry="1 January 2030")
        render_template_for(
            kind=kind,
            subject=template.subject,
            body_text=template.body_text,
            body_html=template.body_html,
            values=values,
        )

    drive(TemplateForm(data=data, kind=kind), service)


@PROPERTY
@given(data=form_data(NewsletterForm))
def test_newsletter_form_and_its_preview(world, data):
    def service(d):
        newsletter = community_services.newsletter_save(
            newsletter=None, subject=d["subject"], body=d["body"], segment=d["segment"], saved_by=world["owner"]
        )
        newsletter_render_for(newsletter=newsletter, customer=world["customer"])

    drive(NewsletterForm(data=data), service)


@PROPERTY
@given(data=form_data(NewsletterSendForm))
def test_newsletter_send_form(world, data):
    drive(
        NewsletterSendForm(data=data),
        lambda d: community_services.newsletter_schedule(
            newsletter=world["newsletter"],
            send_at=d["send_at"] if d["when"] == "later" else None,
            scheduled_by=world["owner"],
        ),
    )


@PROPERTY
@given(data=any_or_near(EventForm))
def test_event_form(world, data):
    drive(EventForm(data=data), lambda d: community_services.event_save(event=None, saved_by=world["owner"], **d))


@PROPERTY
@given(data=form_data(SegmentForm))
def test_segment_form_and_its_count(world, data):
    form = SegmentForm(data=data)

    def service(d):
        community_services.segment_create(name=d["name"], filters=form.filters(), created_by=world["owner"])
        segment_count(form.filters())

    drive(form, service)


@PROPERTY
@given(data=form_data(RsvpForm))
def test_rsvp_form(world, data):
    drive(
        RsvpForm(data=data, max_guests=3),
        lambda d: community_services.invitation_answer(
            invitation=world["invitation"], coming=d["coming"], guests=d["guests"] or 0
        ),
    )


@PROPERTY
@given(data=form_data(ProfileForm))
def test_profile_form(world, data):
    form = ProfileForm(data=data)
    drive(form, lambda d: community_services.customer_profile_update(customer=world["customer"], changes=form.sent()))


@PROPERTY
@given(data=any_or_near(ProfileLinkRequestForm))
def test_profile_link_request_form(world, data):
    drive(ProfileLinkRequestForm(data=data), lambda d: community_services.profile_link_request(email=d["email"]))


@PROPERTY
@given(data=form_data(RedeemForm))
def test_redeem_form(world, data):
    drive(RedeemForm(data=data), lambda d: gift_code_redeem(code=d["code"], redeemed_by=world["owner"]))


@PROPERTY
@given(data=any_or_near(StaffCreateForm))
def test_staff_create_form(world, data):
    def service(d):
        staff_create(
            created_by=world["owner"],
            username=d["username"],
            first_name=d["first_name"],
            last_name=d["last_name"],
            email=d["email"],
            role=d["role"],
            password=d["password1"],
        )

    drive(StaffCreateForm(data=data), service)


@PROPERTY
@given(data=form_data(EraseForm))
def test_erase_form(world, data):
    drive(
        EraseForm(data=data),
        lambda d: customer_erase(customer=world["customer"], erased_by=world["owner"], confirm_name=d["confirm_name"]),
    )


@PROPERTY
@given(
    raw=st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=2000).map(lambda t: ("First name,Email,Birthday\n" + t).encode("utf-8")),
        st.text(max_size=1000).map(lambda t: ("First name;Email\n" + t).encode("utf-16")),
        st.lists(st.lists(TEXT, max_size=4), max_size=20).map(
            lambda rows: "\n".join(
                ",".join(f'"{c}"' if i % 2 else c for i, c in enumerate(r))
                for r in [["First Name", "Surname", "Email Address", "Birthday"], *rows]
            ).encode()
        ),
    ),
    name=TEXT,
)
def test_csv_upload_service(world, raw, name):
    with rolled_back():
        try:
            import_job_create(uploaded_by=world["owner"], file_name=name or "x.csv", raw=raw)
        except ValidationError:
            pass


@PROPERTY
@given(data=st.data())
def test_import_mapping_form(world, data):
    job = world["import_job"]
    post = data.draw(form_data(MappingForm, job=job))
    form = MappingForm(data=post, job=job)
    drive(
        form,
        lambda d: import_job_configure(
            job=job, configured_by=world["owner"], mapping=form.mapping(), date_order=d["date_order"]
        ),
    )
    job.refresh_from_db()


@PROPERTY
@given(data=form_data(StartForm))
def test_import_start_form(world, data):
    job = world["import_job"]
    drive(StartForm(data=data), lambda d: import_job_start(job=job, started_by=world["owner"], **d))
    job.refresh_from_db()


@PROPERTY
@given(data=form_data(ApproveForm), decision=st.sampled_from(["draft", "planned", "sent"]))
def test_review_queue_approve_form(world, data, decision):
    def service(d):
        message = OutboundMessageFactory(customer=world["customer"], status=decision)
        message_approve(message=message, approved_by=world["staff"], personal_line=d["personal_line"])

    drive(ApproveForm(data=data), service)


@PROPERTY
@given(data=form_data(ResendUnknownForm))
def test_resend_unknown_form(world, data):
    def service(d):
        message = OutboundMessageFactory(customer=world["customer"], status="unknown")
        message_resend_unknown(message=message, resent_by=world["owner"], confirmed=d["confirm"])

    drive(ResendUnknownForm(data=data), service)


@PROPERTY
@given(data=form_data(PasswordResetForm))
def test_staff_password_form(world, data):
    drive(
        PasswordResetForm(data=data),
        lambda d: staff_set_password(user=world["staff"], changed_by=world["owner"], password=d["password1"]),
    )


@PROPERTY
@given(data=st.data())
def test_staff_handover_form(world, data):
    post = data.draw(
        st.one_of(
            form_data(HandoverForm, from_user=world["staff"]),
            st.fixed_dictionaries(
                {"to_user": st.sampled_from([str(world["owner"].pk), str(world["staff"].pk)]).map(lambda v: [v])},
                optional={"deactivate": st.lists(VALUE, min_size=1, max_size=2)},
            ).map(MultiValueDict),
        )
    )
    drive(
        HandoverForm(data=post, from_user=world["staff"]),
        lambda d: staff_handover(
            from_user=world["staff"], to_user=d["to_user"], handed_over_by=world["owner"], deactivate=d["deactivate"]
        ),
    )


@PROPERTY
@given(data=st.data())
def test_event_invite_form(world, data):
    segment = st.sampled_from([str(world["segment"].pk)]).map(lambda v: [v])
    post = data.draw(st.one_of(form_data(InviteForm), st.fixed_dictionaries({"segment": segment}).map(MultiValueDict)))
    drive(
        InviteForm(data=post),
        lambda d: community_services.event_invite(
            event=world["event"], segment=d["segment"], invited_by=world["owner"]
        ),
    )


@PROPERTY
@given(data=form_data(ApiKeyForm))
def test_api_key_form(world, data):
    drive(ApiKeyForm(data=data), lambda d: api_key_create(created_by=world["owner"], **d))


@PROPERTY
@given(data=form_data(ConnectForm), vendor=st.sampled_from(["square", "shopify"]))
def test_till_connect_form(world, data, vendor):
    drive(ConnectForm(data=data), lambda d: till_connect(vendor=vendor, connected_by=world["owner"], **d))


@PROPERTY
@given(data=form_data(CalendarFeedForm, owner=True), owner=st.booleans())
def test_calendar_feed_form(world, data, owner):
    user = world["owner"] if owner else world["staff"]
    drive(CalendarFeedForm(data=data, owner=owner), lambda d: calendar_feed_create(user=user, scope=d["scope"]))


# --- through the view, where the view does the wiring ---------------------------------------------


@PROPERTY
@given(
    params=st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(
            (
                "q",
                "tag",
                "owner",
                "product",
                "birthday_month",
                "health",
                "stage",
                "archived",
                "sort",
                "segment",
                "page",
            ),
            VALUE,
        ),
    )
)
def test_the_customer_list_with_any_filter(world, client, params):
    client.force_login(world["owner"])
    response = client.get(reverse("customers:list"), {k: v.replace("\x00", "") for k, v in params.items()})
    assert response.status_code in (200, 400)


@PROPERTY
@given(
    data=st.fixed_dictionaries(
        {}, optional=dict.fromkeys(("kind", "value", "product", "valid_days", "expires_on"), VALUE)
    )
)
def test_issuing_a_gift_with_anything(world, client, data):
    client.force_login(world["owner"])
    with rolled_back():
        response = client.post(reverse("gifts:issue", args=[world["customer"].pk]), data)
    assert response.status_code in (200, 302, 400)


@PROPERTY
@given(params=st.fixed_dictionaries({}, optional=dict.fromkeys(("q", "attach", "page"), VALUE)))
def test_the_till_inbox_search_with_anything(world, client, params):
    client.force_login(world["owner"])
    response = client.get(reverse("tills:inbox"), {k: v.replace("\x00", "") for k, v in params.items()})
    assert response.status_code in (200, 400)


@PROPERTY
@given(
    customer=st.one_of(VALUE, st.just("own")),
)
def test_the_newsletter_preview_for_any_customer(world, client, customer):
    client.force_login(world["owner"])
    if customer == "own":
        customer = str(world["customer"].pk)
    response = client.get(
        reverse("community:newsletter_detail", args=[world["newsletter"].pk]),
        {"customer": customer.replace("\x00", "")},
    )
    assert response.status_code in (200, 400)


# --- the public pages: login, forgot password, set a new password ---------------------------------
#
# Driven through the test client (Django's views do the wiring: the request, django-axes, the rate limit,
# the token kept in the session). Each example posts from a fresh client inside `rolled_back()`, so a
# login, a changed password and django-axes' failed-attempt rows (it counts in the database) are undone:
# failures never add up to a lockout, here or in any other test.

NEW_PASSWORD = "a fresh Passw0rd!"


def _post(data: MultiValueDict) -> dict[str, list[str]]:
    """A MultiValueDict as the test client posts it: every value of every field."""
    return {name: data.getlist(name) for name in data}


def _one_each(values: dict[str, str]) -> st.SearchStrategy:
    return st.just(MultiValueDict({name: [value] for name, value in values.items()}))


def _login_post(username: str) -> dict[str, str]:
    return {"username": username, "password": DEMO_PASSWORD}


def _reset_link(user) -> str:
    """The link the email carries, made from the user as they are now."""
    token = default_token_generator.make_token(user)
    return reverse("password_reset_confirm", args=[urlsafe_base64_encode(force_bytes(user.pk)), token])


def test_the_valid_posts_the_public_page_strategies_start_from_go_through(world):
    staff = world["staff"]
    # Log in.
    assert Client().post(reverse("login"), _login_post(staff.username)).status_code == 302
    # Ask for a reset link: it is queued for them.
    response = Client().post(reverse("password_reset"), {"email": staff.email})
    assert (
        response.status_code == 302 and OutboundMessage.objects.filter(staff_user=staff, kind="password_reset").exists()
    )
    # Open the link (made now: the login above changed what the token is made from) and set a new password.
    staff.refresh_from_db()
    client = Client()
    form_page = client.get(_reset_link(staff))
    assert form_page.status_code == 302
    done = client.post(form_page.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")


@PROPERTY
@given(data=st.data())
def test_the_login_form(world, data):
    base = _login_post(world["staff"].username)
    post = data.draw(st.one_of(form_data(AuthenticationForm), near(AuthenticationForm, base), _one_each(base)))
    with rolled_back():
        response = Client().post(reverse("login"), _post(post))
    assert response.status_code in (200, 302)
    assert not AccessAttempt.objects.exists()  # the failed attempts went with the rollback: no lockout builds up


@PROPERTY
@given(data=st.data())
def test_the_forgot_password_form(world, data):
    email = world["staff"].email
    # One field, so no `near`: anything, any well-formed address (the form accepts it and says nothing of
    # whether it is known), and theirs as typed, shouted or padded (the link really is queued).
    post = data.draw(
        st.one_of(
            form_data(StaffPasswordResetForm),
            st.emails().map(lambda address: MultiValueDict({"email": [address]})),
            st.sampled_from([email, email.upper(), f"  {email} "]).map(
                lambda typed: MultiValueDict({"email": [typed]})
            ),
        )
    )
    # The page allows RATELIMIT_PUBLIC_PAGES posts a minute from one address, counted in the cache (not
    # rolled back): the examples would soon all be 429s without reaching the form (the limit has its own
    # test in test_rate_limited_pages.py).
    with override_settings(RATELIMIT_PUBLIC_PAGES="1000000/m"), rolled_back():
        response = Client().post(reverse("password_reset"), _post(post))
    assert response.status_code in (200, 302)


@PROPERTY
@given(data=st.data())
def test_the_set_new_password_form(world, data):
    staff = world["staff"]
    base = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    post = data.draw(
        st.one_of(form_data(SetPasswordForm, user=staff), near(SetPasswordForm, base, user=staff), _one_each(base))
    )
    # The real link from the email, or anything in its two parts (a forged or mangled link).
    forged = data.draw(st.one_of(st.none(), st.tuples(TEXT, TEXT)))
    client = Client()
    with rolled_back():
        if forged is None:
            url = _reset_link(staff)
        else:
            url = f"{reverse('password_reset')}{quote(forged[0], safe='')}/{quote(forged[1], safe='')}/"
        response = client.get(url)
        if response.status_code == 302:  # a good link: the token goes into the session, the form is here
            url = response.url
        response = client.post(url, _post(post))
    assert response.status_code in (200, 302, 404)
    staff.refresh_from_db()
    assert staff.check_password(DEMO_PASSWORD)  # undone with the rest
