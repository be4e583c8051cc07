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


def test_the_admin_refuses_a_gift_code_that_is_not_one_the_shop_would_draw(client):
    from gifts.models import GiftCode
    from tests.factories import GiftCodeFactory

    client.force_login(User.objects.create_superuser("root", "root@shop.example", "x-long-password-1"))
    gift = GiftCodeFactory(code="ABCD2345")
    change_url = reverse("admin:gifts_giftcode_change", args=[gift.pk])
    form = client.get(change_url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}

    response = client.post(change_url, {**data, "code": "<b>x</b>"})

    assert response.status_code == 200  # the form again, with its error
    assert "A gift code is 8 capital letters and digits" in response.content.decode()
    assert GiftCode.objects.get(pk=gift.pk).code == "ABCD2345"
