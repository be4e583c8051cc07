"""PostgreSQL briefly unavailable: pages answer a friendly 503, then work again when it is back."""

import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.db import connection

from tests.integration.faults import CuttableProxy, WebServer, collected_static, proxied_database_url

pytestmark = pytest.mark.integration


def fetch(url: str, cookie: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def proxy(postgres_db):
    s = connection.settings_dict
    proxy = CuttableProxy(target_host=s["HOST"] or "127.0.0.1", target_port=int(s["PORT"] or 5432))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def web(proxy):
    static_root = collected_static()
    # The same key as this process, so the session this test makes is valid there.
    server = WebServer(
        database_url=proxied_database_url(proxy), static_root=static_root, secret_key=settings.SECRET_KEY
    )
    server.start()
    yield server
    server.stop()


def test_a_database_outage_gets_a_friendly_503_and_the_site_recovers(web, proxy, staff, client):
    client.force_login(staff)  # a real session row in the test database
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    status, html = fetch(web.url + "/", cookie)
    assert status == 200 and "My day" in html, web.log()[-3000:]

    proxy.cut()
    for path in ("/", "/customers/", "/login/"):
        status, html = fetch(web.url + path, cookie)
        assert status == 503, (path, status, web.log()[-3000:])
        assert "taking a short break" in html and "Traceback" not in html and "psycopg" not in html

    proxy.restore()
    status, html = fetch(web.url + "/", cookie)
    assert status == 200 and "My day" in html
