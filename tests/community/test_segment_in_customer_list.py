"""Saved segments narrow the customer list, which never imports the community app."""

import pytest
from django.urls import reverse

from community.models import Segment
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def regulars():
    tag = TagFactory(name="regular")
    members = CustomerFactory.create_batch(2, last_name="Member")
    for customer in members:
        customer.tags.add(tag)
    CustomerFactory(last_name="Outsider")
    return Segment.objects.create(name="Regulars", filters={"tags": [tag.pk]}), members


def test_the_customer_list_filtered_by_a_segment_shows_only_its_members(staff_client, regulars):
    segment, members = regulars

    response = staff_client.get(reverse("customers:list"), {"segment": segment.pk})

    shown = set(response.context["page"].object_list)
    assert response.status_code == 200
    assert shown == set(members)
    assert "Regulars" in response.content.decode()  # the segment is a choice in the filter bar


def test_without_a_segment_the_list_shows_everyone(staff_client, regulars):
    response = staff_client.get(reverse("customers:list"))

    assert len(response.context["page"].object_list) == 3


def test_the_segment_page_links_to_its_customer_list(staff_client, regulars):
    segment, _ = regulars

    response = staff_client.get(reverse("community:segment_detail", args=[segment.pk]))

    assert f"{reverse('customers:list')}?segment={segment.pk}" in response.content.decode()
