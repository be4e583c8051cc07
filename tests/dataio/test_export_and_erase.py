"""Exports (streamed, formula-safe), one customer's data, erasure and history."""

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse

from accounts.models import AuditRecord
from automations.models import OutboundMessage, Suppression
from automations.suppression import email_hash
from customers.models import Customer, FollowUp, ImportantDate
from customers.services import customer_update
from dataio.exporting import csv_safe
from dataio.services import customer_erase
from tests.factories import CustomerFactory, FollowUpFactory, ImportantDateFactory, TagFactory, TouchpointFactory
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log

pytestmark = pytest.mark.django_db


def read_stream(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("value", ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_would_run_as_a_formula_is_prefixed(value):
    assert csv_safe(value) == "'" + value


def test_ordinary_cells_are_left_alone():
    assert csv_safe("Ada") == "Ada" and csv_safe(None) == "" and csv_safe(3) == "3"


def test_the_customer_export_streams_every_customer_with_formula_cells_defused(owner_client):
    CustomerFactory(first_name="=cmd|' /C calc'!A0", last_name="Evil", notes="@SUM(1+1)")
    customer = CustomerFactory(first_name="Ada")
    customer.tags.add(TagFactory(name="vip"))
    response = owner_client.get(reverse("dataio:export_customers"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = read_stream(response)
    header, body = rows[0], rows[1:]
    by_name = {row[header.index("last_name")]: row for row in body}
    assert by_name["Evil"][header.index("first_name")] == "'=cmd|' /C calc'!A0"
    assert by_name["Evil"][header.index("notes")] == "'@SUM(1+1)"
    assert len(body) == 2 and "vip" in [row[header.index("tags")] for row in body]


def test_the_customer_export_query_count_does_not_grow_with_customers(owner_client, django_assert_max_num_queries):
    CustomerFactory.create_batch(30)
    with django_assert_max_num_queries(12):
        read_stream(owner_client.get(reverse("dataio:export_customers")))


def test_the_touchpoint_export_lists_touchpoints(owner_client, staff):
    customer = CustomerFactory(first_name="Ben")
    touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=12, note="-bought socks")
    rows = read_stream(owner_client.get(reverse("dataio:export_touchpoints")))
    header, row = rows[0], rows[1]
    assert row[header.index("kind")] == "purchase" and row[header.index("note")] == "'-bought socks"
    assert row[header.index("logged_by")] == staff.username


def test_staff_cannot_export(staff_client):
    assert staff_client.get(reverse("dataio:export_customers")).status_code == 403
    assert staff_client.get(reverse("dataio:export_touchpoints")).status_code == 403


def make_rich_customer(staff) -> Customer:
    customer = CustomerFactory(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone="+447700900123",
        notes="Cat called Babbage",
        birthday_day=10,
        birthday_month=12,
    )
    customer.tags.add(TagFactory(name="vip"))
    customer_update(customer=customer, updated_by=staff, notes="Cat called Babbage; likes tea")
    ImportantDateFactory(customer=customer, label="Wedding anniversary")
    FollowUpFactory(customer=customer, reason="Ask Ada about the cat", assignee=staff)
    touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=20, note="Bought tea for Ada")
    OutboundMessage.objects.create(
        customer=customer,
        recipient_key=f"c:{customer.pk}",
        kind="thankyou",
        occasion_key="1",
        planned_at=customer.created_at,
        to_email=customer.email,
        subject="Thank you, Ada",
    )
    return customer


def test_one_customers_export_holds_everything_about_them_as_json_and_csv(owner_client, staff):
    customer = make_rich_customer(staff)
    response = owner_client.get(reverse("dataio:customer_export", args=[customer.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("customer.json"))
    assert data["customer"][0]["email"] == "ada@example.com" and data["customer"][0]["tags"] == ["vip"]
    assert data["important_dates"][0]["label"] == "Wedding anniversary"
    assert data["followups"][0]["reason"] == "Ask Ada about the cat"
    assert data["touchpoints"][0]["note"] == "Bought tea for Ada"
    assert data["messages"][0]["subject"] == "Thank you, Ada"
    assert any(
        h["notes"] == "Cat called Babbage; likes tea" and h["changed_by"] == staff.username for h in data["history"]
    )
    assert "touchpoints.csv" in archive.namelist() and "customer.csv" in archive.namelist()
    assert "Lovelace" in archive.read("customer.csv").decode("utf-8-sig")
    assert AuditRecord.objects.filter(action="customer_exported", target_id=customer.pk, actor__isnull=False).exists()


def test_erasure_removes_personal_data_keeps_anonymous_figures_and_suppresses_the_email(owner, staff):
    customer = make_rich_customer(staff)
    customer_erase(customer=customer, erased_by=owner, confirm_name="ada  lovelace")
    customer.refresh_from_db()
    assert customer.erased_at and customer.is_archived
    assert (customer.first_name, customer.email, customer.phone, customer.notes) == ("Erased", "", "", "")
    assert customer.birthday_day is None and not customer.tags.exists() and not customer.email_consent
    assert not ImportantDate.objects.filter(customer=customer).exists()
    assert not FollowUp.objects.filter(customer=customer).exists()
    assert not OutboundMessage.objects.filter(customer=customer).exists()
    touchpoint = Touchpoint.objects.get(customer=customer)
    assert touchpoint.note == "" and touchpoint.amount == 20 and touchpoint.kind == "purchase"
    assert customer.purchase_count == 1  # the figures stay
    assert not Customer.history.filter(id=customer.pk).exists()
    assert not Touchpoint.history.filter(customer_id=customer.pk).exists()
    assert not FollowUp.history.filter(customer_id=customer.pk).exists()
    assert Suppression.objects.filter(email_hash=email_hash("ADA@example.com"), reason="erasure").exists()
    record = AuditRecord.objects.get(action="customer_erased")
    assert (record.actor, record.target_id, record.detail) == (owner, customer.pk, {})
    assert "Ada" not in json.dumps([record.actor_username, record.target_type, record.detail])


def test_erasure_needs_the_customers_name_typed_and_otherwise_changes_nothing(owner_client, staff):
    customer = make_rich_customer(staff)
    response = owner_client.post(reverse("dataio:customer_erase", args=[customer.pk]), {"confirm_name": "Ada"})
    assert response.status_code == 400 and "Type the customer" in response.content.decode()
    customer.refresh_from_db()
    assert customer.email == "ada@example.com" and not customer.erased_at
    assert not Suppression.objects.exists()


def test_the_owner_erases_through_the_page(owner_client, staff):
    customer = make_rich_customer(staff)
    response = owner_client.post(
        reverse("dataio:customer_erase", args=[customer.pk]), {"confirm_name": "Ada Lovelace"}, follow=True
    )
    assert response.status_code == 200 and "has been erased" in response.content.decode()
    customer.refresh_from_db()
    assert customer.erased_at


def test_staff_cannot_erase(staff_client, staff):
    customer = make_rich_customer(staff)
    assert (
        staff_client.post(
            reverse("dataio:customer_erase", args=[customer.pk]), {"confirm_name": "Ada Lovelace"}
        ).status_code
        == 403
    )
    customer.refresh_from_db()
    assert not customer.erased_at


def test_the_history_page_shows_who_changed_what_and_when(owner_client, staff):
    customer = make_rich_customer(staff)
    page = owner_client.get(reverse("dataio:customer_history", args=[customer.pk])).content.decode()
    assert f"by {staff.username}" in page
    assert "Cat called Babbage; likes tea" in page and "<del" in page  # the old value, struck through
    assert "Touchpoint created" in page and "Follow up created" in page
    assert f">{staff.username}</ins>" in page  # a user is shown by name, not by id


def test_the_history_page_runs_a_fixed_number_of_queries(owner_client, staff, django_assert_max_num_queries):
    customer = make_rich_customer(staff)
    for i in range(15):
        customer_update(customer=customer, updated_by=staff, notes=f"note {i}")
        TouchpointFactory(customer=customer)
    with django_assert_max_num_queries(20):
        assert owner_client.get(reverse("dataio:customer_history", args=[customer.pk])).status_code == 200


def test_the_settings_history_shows_who_changed_a_setting(owner_client, owner):
    from crm.models import ShopSettings

    shop = ShopSettings.load()
    shop.name = "Tea & Tonic"
    shop._history_user = owner
    shop.save()
    page = owner_client.get(reverse("dataio:settings_history")).content.decode()
    assert "Tea &amp; Tonic" in page and f"by {owner.username}" in page


def test_one_customers_export_and_erasure_cover_gift_codes_and_invitations(owner, owner_client, staff):
    from community.models import Invitation
    from gifts.models import GiftCode
    from tests.factories import GiftCodeFactory, InvitationFactory

    customer = make_rich_customer(staff)
    code = GiftCodeFactory(customer=customer)
    InvitationFactory(customer=customer)
    archive = zipfile.ZipFile(
        io.BytesIO(owner_client.get(reverse("dataio:customer_export", args=[customer.pk])).content)
    )
    data = json.loads(archive.read("customer.json"))
    assert data["gift_codes"][0]["code"] == code.code and len(data["invitations"]) == 1
    customer_erase(customer=customer, erased_by=owner, confirm_name="Ada Lovelace")
    # The rows stay as anonymous figures; their history (who, when, with which name) goes.
    assert GiftCode.objects.filter(customer=customer).exists() and Invitation.objects.filter(customer=customer).exists()
    for model in (GiftCode, Invitation):
        if hasattr(model, "history"):
            assert not model.history.filter(customer_id=customer.pk).exists()
