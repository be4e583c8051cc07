"""Owner-only staff management: add, deactivate, reset a password, hand over."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AuditRecord
from accounts.services import staff_handover
from customers.models import FollowUp
from tests.factories import DEMO_PASSWORD, CustomerFactory, FollowUpFactory, StaffFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "kettle-biscuit-harbour-7"


def test_the_owner_adds_a_staff_member_who_can_then_log_in(owner_client, client):
    response = owner_client.post(
        reverse("accounts:staff_add"),
        {
            "username": "mia",
            "first_name": "Mia",
            "last_name": "Khan",
            "email": "Mia@Shop.example",
            "role": "Staff",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        },
    )
    assert response.status_code == 302
    mia = User.objects.get(username="mia")
    assert mia.groups.filter(name="Staff").exists() and mia.email == "mia@shop.example"
    owner_client.logout()
    response = client.post(reverse("login"), {"username": "mia", "password": GOOD_PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(mia.pk)
    assert AuditRecord.objects.filter(action="staff_added", target_id=mia.pk).exists()


@pytest.mark.parametrize(
    "password, message",
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("83749261038", "entirely numeric"),
    ],
)
def test_a_weak_password_is_refused_by_djangos_validators(owner_client, password, message):
    response = owner_client.post(
        reverse("accounts:staff_add"),
        {
            "username": "weak",
            "first_name": "W",
            "role": "Staff",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not User.objects.filter(username="weak").exists()


def test_the_owner_deactivates_and_reactivates_a_staff_member(owner_client, staff, client):
    owner_client.post(reverse("accounts:staff_active", args=[staff.pk]), {"active": "0"})
    staff.refresh_from_db()
    assert not staff.is_active
    owner_client.post(reverse("accounts:staff_active", args=[staff.pk]), {"active": "1"})
    staff.refresh_from_db()
    assert staff.is_active


def test_the_owner_cannot_deactivate_themselves(owner_client, owner):
    response = owner_client.post(reverse("accounts:staff_active", args=[owner.pk]), {"active": "0"}, follow=True)
    owner.refresh_from_db()
    assert owner.is_active and "your own account" in response.content.decode()


def test_the_owner_sets_a_new_password(owner_client, staff, client):
    response = owner_client.post(
        reverse("accounts:staff_password", args=[staff.pk]), {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(GOOD_PASSWORD)
    assert AuditRecord.objects.filter(action="password_reset", target_id=staff.pk).exists()


def test_mismatched_passwords_change_nothing(owner_client, staff):
    response = owner_client.post(
        reverse("accounts:staff_password", args=[staff.pk]),
        {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD + "x"},
    )
    assert response.status_code == 400
    staff.refresh_from_db()
    assert staff.check_password(DEMO_PASSWORD)


def test_a_hand_over_moves_customers_and_open_followups_in_one_step(owner_client, owner):
    leaving, taking = StaffFactory(), StaffFactory()
    customers = CustomerFactory.create_batch(3, owner=leaving)
    open_one = FollowUpFactory(customer=customers[0], assignee=leaving)
    snoozed = FollowUpFactory(customer=customers[1], assignee=leaving, status=FollowUp.Status.SNOOZED)
    done = FollowUpFactory(customer=customers[1], assignee=leaving, status=FollowUp.Status.DONE)
    other = CustomerFactory(owner=owner)
    response = owner_client.post(
        reverse("accounts:staff_handover", args=[leaving.pk]), {"to_user": taking.pk, "deactivate": "on"}
    )
    assert response.status_code == 302
    for customer in customers:
        customer.refresh_from_db()
        assert customer.owner == taking
        assert customer.history.first().history_user == owner  # attributable
    for followup in (open_one, snoozed):
        followup.refresh_from_db()
        assert followup.assignee == taking
    done.refresh_from_db()
    other.refresh_from_db()
    assert done.assignee == leaving and other.owner == owner  # closed work and others' customers stay
    leaving.refresh_from_db()
    assert not leaving.is_active
    record = AuditRecord.objects.get(action="staff_handover")
    assert record.detail == {"customers": 3, "followups": 2, "to_user_id": taking.pk}


def test_a_failing_hand_over_changes_nothing(owner):
    leaving = StaffFactory()
    customer = CustomerFactory(owner=leaving)
    with pytest.raises(ValidationError):
        staff_handover(from_user=leaving, to_user=leaving, handed_over_by=owner)
    customer.refresh_from_db()
    assert customer.owner == leaving


def test_staff_get_403_on_every_staff_page(staff_client, owner):
    for name, args in [("staff_list", []), ("staff_add", []), ("staff_detail", [owner.pk])]:
        assert staff_client.get(reverse(f"accounts:{name}", args=args)).status_code == 403
    assert staff_client.post(reverse("accounts:staff_active", args=[owner.pk]), {"active": "0"}).status_code == 403
    owner.refresh_from_db()
    assert owner.is_active


def test_the_staff_list_shows_roles_and_counts(owner_client, staff, django_assert_max_num_queries):
    CustomerFactory.create_batch(2, owner=staff)
    with django_assert_max_num_queries(8):
        page = owner_client.get(reverse("accounts:staff_list")).content.decode()
    assert staff.username in page and "2 customers" in page
