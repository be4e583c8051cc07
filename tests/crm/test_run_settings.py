"""`make run` serves as a shop would: DEBUG off over local HTTP, a secret key made once, quiet logs.

Settings are read once per process, so each case starts a fresh Python with its own environment.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'local': s.LOCAL_HTTP, 'key': s.SECRET_KEY, "
    "'secure_cookie': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE, "
    "'ssl_redirect': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS, 'storage': s.STORAGES['staticfiles']['BACKEND']}))"
)
PRODUCTION_KEY = "p" * 30 + "Q7-x" * 10


def _settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "LOCAL_HTTP", "DATABASE_URL", "REDIS_URL")
    }
    clean.update(DJANGO_SETTINGS_MODULE="crm.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def _read(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_make_run_settings_serve_plain_http_on_the_shops_own_machine(tmp_path):
    local = _read(_settings(tmp_path, DEBUG="False"))

    # DEBUG off, production static files, but cookies that a browser sends over http://127.0.0.1.
    assert local["debug"] is False and local["local"] is True
    assert local["storage"] == "crm.storage.StaticStorage"
    assert (local["secure_cookie"], local["csrf_secure"], local["ssl_redirect"], local["hsts"]) == (
        False,
        False,
        False,
        0,
    )


def test_the_local_secret_key_is_made_once_and_only_its_owner_can_read_it(tmp_path):
    first = _read(_settings(tmp_path, DEBUG="False"))["key"]
    second = _read(_settings(tmp_path, DEBUG="False"))["key"]
    key_file = ROOT / "var" / "secret_key"

    assert first == second and len(first) >= 50
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "given", [{"ALLOWED_HOSTS": "crm.example.com", "SECRET_KEY": PRODUCTION_KEY}, {"SECRET_KEY": PRODUCTION_KEY}]
)
def test_any_production_setting_turns_local_http_off_and_https_defaults_on(tmp_path, given):
    production = _read(_settings(tmp_path, DEBUG="False", **given))

    assert production["local"] is False
    assert production["key"] == PRODUCTION_KEY
    assert (production["secure_cookie"], production["csrf_secure"], production["ssl_redirect"]) == (True, True, True)
    assert production["hsts"] > 0


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = _settings(tmp_path, DEBUG="False", ALLOWED_HOSTS="crm.example.com")

    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "LOCAL_HTTP", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        DEBUG="False",
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="crm.example.com",
        CSRF_TRUSTED_ORIGINS="https://crm.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_accounts_login_sends_people_to_the_login_page(client):
    response = client.get("/accounts/login/?next=/customers/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/customers/"


def test_an_unknown_address_gets_the_friendly_404_without_a_logged_traceback(client, settings, caplog):
    settings.DEBUG = False

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b"We could not find that page" in response.content
    assert not [r for r in caplog.records if r.name == "django.request" and r.exc_info]


def test_a_403_is_one_access_line_not_a_logged_traceback(staff_client, caplog):
    response = staff_client.get("/dashboard/")

    assert response.status_code == 403
    # Django logs PermissionDenied as a warning with the traceback; the logs keep only 500s.
    assert not [r for r in caplog.records if r.name == "django.request"]
