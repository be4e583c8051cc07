"""django-axes: five wrong passwords lock a username out, with a clear message."""

import pytest
from django.urls import reverse

from tests.factories import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_five_failed_logins_lock_the_account_out_with_a_clear_message(client, staff):
    for _ in range(4):
        response = client.post(reverse("login"), {"username": staff.username, "password": "wrong"})
        assert response.status_code == 200 and "Too many failed logins" not in response.content.decode()
    response = client.post(reverse("login"), {"username": staff.username, "password": "wrong"})
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()
    # Even the right password is refused while locked out.
    response = client.post(reverse("login"), {"username": staff.username, "password": DEMO_PASSWORD})
    assert response.status_code == 429 and "_auth_user_id" not in client.session


def test_a_good_login_before_the_limit_resets_the_count(client, staff):
    for _ in range(4):
        client.post(reverse("login"), {"username": staff.username, "password": "wrong"})
    response = client.post(reverse("login"), {"username": staff.username, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_password_validators_are_on(settings):
    names = [v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert {"MinimumLengthValidator", "CommonPasswordValidator", "NumericPasswordValidator"} <= set(names)
