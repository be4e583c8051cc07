import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.factories import CustomerFactory, FollowUpFactory, TouchpointFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model",
    [
        "customers/customer",
        "customers/followup",
        "customers/importantdate",
        "customers/product",
        "customers/tag",
        "touchpoints/touchpoint",
        "crm/shopsettings",
    ],
)
def test_the_admin_lists_searches_and_filters_every_model(client, model):
    client.force_login(User.objects.create_superuser("root", "root@shop.example", "x-long-password-1"))
    customer = CustomerFactory(first_name="Ada")
    FollowUpFactory(customer=customer)
    TouchpointFactory(customer=customer, note="Ada came in")
    url = reverse(f"admin:{model.replace('/', '_')}_changelist")

    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "Ada"}).status_code == 200
