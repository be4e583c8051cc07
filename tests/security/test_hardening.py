"""Production settings, the Content-Security-Policy, cookies and the friendly error pages."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse

from crm.errors import server_error

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def production_env(**extra) -> dict:
    # The test process sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; production never does.
    dropped = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(DEBUG="False", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="shop.example", **extra)
    return env


def test_check_deploy_is_clean_with_production_settings_from_the_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    env.pop("SECRET_KEY")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_every_page_carries_a_content_security_policy_without_inline_script(owner_client):
    response = owner_client.get(reverse("customers:my_day"))
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


@pytest.mark.parametrize("url_name", ["customers:my_day", "customers:list", "dataio:home", "accounts:staff_list"])
def test_pages_hold_no_inline_script_or_style(owner_client, url_name):
    html = owner_client.get(reverse(url_name)).content.decode()
    assert "<script>" not in html and " onclick=" not in html and " style=" not in html
    for chunk in html.split("<script")[1:]:
        assert chunk.lstrip().startswith("src="), "a <script> without src is inline script"


def test_security_headers_and_cookie_flags(settings, owner_client):
    response = owner_client.get(reverse("customers:my_day"))
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"


def test_production_cookies_are_secure_and_https_is_enforced():
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=production_env(DJANGO_SETTINGS_MODULE="crm.settings"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "True", "True", "True"], result.stderr


def test_the_404_page_is_friendly_and_in_the_shops_look(staff_client):
    response = staff_client.get("/customers/999999/")
    html = response.content.decode()
    assert response.status_code == 404 and "We could not find that page" in html and "Log out" in html


def test_the_403_page_is_friendly(staff_client):
    response = staff_client.get(reverse("dataio:home"))
    assert response.status_code == 403 and "This page is not for you" in response.content.decode()


def test_the_500_page_is_friendly():
    request = RequestFactory().get("/")
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        response = server_error(request)
    assert response.status_code == 500 and "Sorry, something went wrong" in response.content.decode()
    assert "boom" not in response.content.decode()


def test_a_database_that_cannot_be_reached_gets_a_503_not_a_500():
    request = RequestFactory().get("/")
    try:
        try:
            raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')
        except OperationalError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 503 and "taking a short break" in response.content.decode()
    assert response["Retry-After"] == "30"


def test_a_form_without_a_csrf_token_gets_the_friendly_400(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("accounts:staff_add"), {"username": "x"})
    assert response.status_code == 400 and "expired" in response.content.decode()


def test_a_null_byte_in_a_query_string_gets_a_clear_400(staff_client):
    response = staff_client.get("/customers/?q=a%00b")
    assert response.status_code == 400 and "null byte" in response.content.decode()
