"""Demo gift codes for `make run`."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from gifts.models import CODE_ALPHABET, GiftCode
from tests.factories import CustomerFactory, ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_demo_gift_codes_are_valid_varied_and_added_only_once():
    StaffFactory()
    ProductFactory(name="Flat white")
    customers = CustomerFactory.create_batch(60)
    call_command("seed_demo_gifts", "--share", "0.5", "--if-empty")
    gifts = list(GiftCode.objects.all())
    assert 10 <= len(gifts) <= 50
    assert len({g.code for g in gifts}) == len(gifts)
    for gift in gifts:
        assert set(gift.code) <= set(CODE_ALPHABET) and len(gift.code) == 8
        gift.full_clean()  # kind, value and product agree
        assert gift.issued_at <= timezone.now()
        assert gift.redeemed_at is None or gift.issued_at <= gift.redeemed_at <= timezone.now()
    today = timezone.localdate()
    statuses = {g.status_on(today) for g in gifts}
    assert statuses == {"active", "expired", "redeemed"}
    assert len({g.issued_at.date() for g in gifts}) > 5  # spread out, not all "now"
    assert {g.customer_id for g in gifts} <= {c.pk for c in customers}

    call_command("seed_demo_gifts", "--if-empty")
    assert GiftCode.objects.count() == len(gifts)
