import pytest
from django.urls import reverse

from crm.models import ShopSettings

pytestmark = pytest.mark.django_db
URL = reverse("shop:settings")
GOOD = {
    "name": "Corner Café",
    "postal_address": "1 High St",
    "time_zone": "Europe/Paris",
    "currency": "EUR",
    "phone_region": "fr",
    "default_cadence_days": "45",
    "opened_on": "2010-05-01",
    "max_amount": "5000",
}


def test_staff_get_403_on_shop_settings(staff_client):
    assert staff_client.get(URL).status_code == 403
    assert staff_client.post(URL, GOOD).status_code == 403
    assert ShopSettings.load().name == "Our Shop"


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_owner_changes_the_shop_settings_and_history_records_who(owner_client, owner):
    response = owner_client.post(URL, GOOD)

    assert response.status_code == 302
    shop = ShopSettings.load()
    assert (shop.name, shop.time_zone, shop.currency, shop.phone_region, shop.default_cadence_days) == (
        "Corner Café",
        "Europe/Paris",
        "EUR",
        "FR",
        45,
    )
    assert shop.history.first().history_user == owner


def test_bad_settings_are_field_errors_and_change_nothing(owner_client):
    for field, value in (
        ("time_zone", "Mars/Olympus"),
        ("phone_region", "ZZ"),
        ("default_cadence_days", "0"),
        ("name", ""),
    ):
        response = owner_client.post(URL, {**GOOD, field: value})
        assert response.status_code == 400, field
        assert field in response.context["form"].errors, field
    assert ShopSettings.load().name == "Our Shop"


def test_the_nav_shows_shop_settings_to_the_owner_only(owner_client, client, staff):
    assert URL in owner_client.get(reverse("customers:my_day")).content.decode()
    client.force_login(staff)
    assert URL not in client.get(reverse("customers:my_day")).content.decode()


def test_within_a_request_the_settings_are_read_once_and_changes_are_seen(django_assert_num_queries):
    from crm.services import shop_settings_update

    ShopSettings.load()  # the row exists
    with ShopSettings.for_request() as shop:
        with django_assert_num_queries(0):
            assert ShopSettings.load() is shop
        changed = shop_settings_update(updated_by=None, name="Corner Café")
        assert ShopSettings.load() is changed and ShopSettings.load().name == "Corner Café"
    # Outside a request (a task, another request) load() reads the row again.
    with django_assert_num_queries(1):
        assert ShopSettings.load().name == "Corner Café"


def test_the_shop_opening_day_is_shown_in_the_date_box(owner_client):
    """A date input reads only YYYY-MM-DD: shown otherwise it is empty, and saving the page fails."""
    assert 'name="opened_on" value="2000-01-01"' in owner_client.get(URL).content.decode()
