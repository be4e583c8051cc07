"""Gift codes: format, issuing, redeeming, and every way a redeem is refused."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from crm.models import ShopSettings
from gifts.models import CODE_ALPHABET, GiftCode
from gifts.services import (
    gift_code_generate,
    gift_code_issue,
    gift_code_normalise,
    gift_code_redeem,
    gift_code_value_display,
)
from tests.factories import CustomerFactory, GiftCodeFactory, ProductFactory, StaffFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


# --- the code itself -------------------------------------------------------


def test_a_generated_code_has_eight_characters_from_the_alphabet():
    for _ in range(200):
        code = gift_code_generate()
        assert len(code) == 8
        assert set(code) <= set(CODE_ALPHABET)


def test_the_alphabet_has_no_look_alike_characters():
    assert not set("0O1I") & set(CODE_ALPHABET)
    assert len(CODE_ALPHABET) == 32


def test_generated_codes_do_not_repeat():
    codes = {gift_code_generate() for _ in range(5000)}
    # 32**8 possibilities: a repeat in 5,000 draws would mean the generator is broken.
    assert len(codes) == 5000


@pytest.mark.parametrize(
    "typed", ["ABCDEFGH", "abcdefgh", " abcd efgh ", "ABCD-EFGH", "abcd\u2013efgh", "ＡＢＣＤＥＦＧＨ", "ab.cd.ef.gh"]
)
def test_what_staff_type_or_paste_is_normalised(typed):
    assert gift_code_normalise(typed) == "ABCDEFGH"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type or paste a gift code."),
        ("  - ", "Type or paste a gift code."),
        ("ABCD0FGH", "never contain 0, O, 1 or I (you typed 0)"),
        ("OICD1FGH", "(you typed 1, I, O)"),
        ("ABCDEFG", "A gift code has 8 characters; you typed 7."),
        ("ABCDEFGHJ", "you typed 9"),
        ("ABCDÉFGH", "only letters and the digits 2 to 9"),
    ],
)
def test_a_malformed_code_gets_a_clear_message(typed, message):
    with pytest.raises(ValidationError) as error:
        gift_code_normalise(typed)
    assert error.value.code == "format"
    assert message in error.value.messages[0]


# --- issuing ----------------------------------------------------------------


def test_issuing_a_code_gives_the_customer_a_new_code_recorded_as_the_issuer():
    customer, staff = CustomerFactory(), StaffFactory()
    gift = gift_code_issue(
        customer=customer,
        kind=GiftCode.Kind.PERCENT_OFF,
        value=10,
        expires_on=date(2030, 1, 31),
        source="manual",
        issued_by=staff,
    )
    gift.refresh_from_db()
    assert gift.customer == customer
    assert len(gift.code) == 8 and set(gift.code) <= set(CODE_ALPHABET)
    assert gift.value == Decimal("10")
    assert gift.issued_by == staff
    assert gift.history.get().history_user == staff


def test_issuing_tries_again_when_the_random_code_is_already_taken(monkeypatch):
    taken = GiftCodeFactory(code="AAAAAAAA")
    draws = iter(["AAAAAAAA", "AAAAAAAA", "BBBBBBBB"])
    monkeypatch.setattr("gifts.services.gift_code_generate", lambda: next(draws))
    gift = gift_code_issue(
        customer=CustomerFactory(),
        kind=GiftCode.Kind.AMOUNT_OFF,
        value=5,
        expires_on=date(2030, 1, 1),
        source="birthday",
    )
    assert gift.code == "BBBBBBBB"
    assert GiftCode.objects.count() == 2
    taken.refresh_from_db()
    assert taken.code == "AAAAAAAA"


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        (GiftCode.Kind.PERCENT_OFF, 0, "value"),
        (GiftCode.Kind.PERCENT_OFF, 101, "value"),
        (GiftCode.Kind.PERCENT_OFF, None, "value"),
        (GiftCode.Kind.AMOUNT_OFF, -5, "value"),
        (GiftCode.Kind.FREE_PRODUCT, None, "product"),
        ("bogus", 5, "kind"),
    ],
)
def test_a_code_with_an_impossible_value_is_refused_and_nothing_is_saved(kind, value, field):
    with pytest.raises(ValidationError) as error:
        gift_code_issue(
            customer=CustomerFactory(), kind=kind, value=value, expires_on=date(2030, 1, 1), source="manual"
        )
    assert field in error.value.message_dict
    assert GiftCode.objects.count() == 0


def test_a_free_product_code_keeps_the_product_and_no_value():
    coffee = ProductFactory(name="Flat white")
    gift = gift_code_issue(
        customer=CustomerFactory(),
        kind=GiftCode.Kind.FREE_PRODUCT,
        value=3,
        product=coffee,
        expires_on=date(2030, 1, 1),
        source="loyalty",
    )
    assert gift.value is None and gift.product == coffee


# --- what it is worth -------------------------------------------------------


def test_the_value_reads_naturally_for_each_kind():
    ShopSettings.objects.filter(pk=1).update(currency="GBP")
    assert gift_code_value_display(GiftCodeFactory(kind="percent", value=Decimal("10"))) == "10% off"
    assert gift_code_value_display(GiftCodeFactory(kind="percent", value=Decimal("12.50"))) == "12.5% off"
    assert gift_code_value_display(GiftCodeFactory(kind="amount", value=Decimal("5"))) == "£5 off"
    assert gift_code_value_display(GiftCodeFactory(kind="amount", value=Decimal("7.5"))) == "£7.50 off"
    product = ProductFactory(name="Flat white")
    assert gift_code_value_display(GiftCodeFactory(kind="product", value=None, product=product)) == "a free Flat white"
    assert gift_code_value_display(GiftCodeFactory(kind="amount", value=Decimal("5")), currency="EUR") == "€5 off"
    assert gift_code_value_display(GiftCodeFactory(kind="amount", value=Decimal("5")), currency="CHF") == "CHF 5 off"


# --- redeeming --------------------------------------------------------------


def test_redeeming_a_code_marks_it_redeemed_and_logs_a_gift_touchpoint():
    staff = StaffFactory()
    gift = GiftCodeFactory(code="HAPPY234", kind="percent", value=Decimal("10"), expires_on=date(2027, 3, 31))
    with time_machine.travel(datetime(2027, 3, 1, 15, 0, tzinfo=LONDON), tick=False):
        redeemed = gift_code_redeem(code=" happ-y234 ", redeemed_by=staff)
    gift.refresh_from_db()
    assert redeemed.pk == gift.pk
    assert gift.redeemed_at == datetime(2027, 3, 1, 15, 0, tzinfo=LONDON)
    assert gift.redeemed_by == staff
    touchpoint = Touchpoint.objects.get(customer=gift.customer)
    assert touchpoint.kind == Touchpoint.Kind.GIFT
    assert touchpoint.logged_by == staff
    assert "HAPP-Y234" in touchpoint.note and "10% off" in touchpoint.note
    gift.customer.refresh_from_db()
    assert gift.customer.last_touchpoint_at == gift.redeemed_at
    assert gift.history.first().history_user == staff


def test_a_code_can_be_redeemed_on_its_last_day_in_the_shop_time_zone():
    ShopSettings.objects.filter(pk=1).update(time_zone="America/New_York")
    gift = GiftCodeFactory(expires_on=date(2027, 3, 1))
    # 23:30 in New York on the last day is already 2 March in UTC.
    with time_machine.travel(datetime(2027, 3, 1, 23, 30, tzinfo=ZoneInfo("America/New_York")), tick=False):
        gift_code_redeem(code=gift.code, redeemed_by=StaffFactory())
    gift.refresh_from_db()
    assert gift.redeemed_at is not None


def _assert_nothing_changed(gift: GiftCode, before: tuple) -> None:
    gift.refresh_from_db()
    assert (gift.redeemed_at, gift.redeemed_by_id) == before
    assert not Touchpoint.objects.exists()


def test_an_expired_code_is_refused_with_its_last_day_and_nothing_changes():
    ShopSettings.objects.filter(pk=1).update(time_zone="America/New_York")
    gift = GiftCodeFactory(expires_on=date(2027, 3, 1))
    with time_machine.travel(datetime(2027, 3, 2, 0, 5, tzinfo=ZoneInfo("America/New_York")), tick=False):
        with pytest.raises(ValidationError) as error:
            gift_code_redeem(code=gift.code, redeemed_by=StaffFactory())
    assert error.value.code == "expired"
    assert "Monday 1 March 2027" in error.value.messages[0]
    _assert_nothing_changed(gift, (None, None))


def test_an_already_redeemed_code_is_refused_saying_when_and_by_whom_and_nothing_changes():
    first = StaffFactory(first_name="Priya", last_name="Shah")
    when = datetime(2027, 6, 1, 13, 5, tzinfo=ZoneInfo("UTC"))  # 14:05 in London (summer time)
    gift = GiftCodeFactory(redeemed_at=when, redeemed_by=first, expires_on=date(2030, 1, 1))
    with pytest.raises(ValidationError) as error:
        gift_code_redeem(code=gift.code, redeemed_by=StaffFactory())
    assert error.value.code == "redeemed"
    assert "1 June 2027 at 14:05 by Priya Shah" in error.value.messages[0]
    _assert_nothing_changed(gift, (when, first.pk))


def test_an_unknown_code_is_refused_and_nothing_changes():
    gift = GiftCodeFactory(code="ABCDEFGH")
    with pytest.raises(ValidationError) as error:
        gift_code_redeem(code="ABCD-EFGJ", redeemed_by=StaffFactory())
    assert error.value.code == "unknown"
    assert "There is no gift code ABCD-EFGJ" in error.value.messages[0]
    _assert_nothing_changed(gift, (None, None))


def test_when_another_till_redeemed_it_first_the_second_is_refused():
    staff, other = StaffFactory(), StaffFactory()
    gift = GiftCodeFactory()
    gift_code_redeem(code=gift.code, redeemed_by=other)
    with pytest.raises(ValidationError) as error:
        gift_code_redeem(code=gift.code, redeemed_by=staff)
    assert error.value.code == "redeemed"
    assert Touchpoint.objects.count() == 1


def test_if_another_till_slips_in_between_the_check_and_the_update_the_second_redeem_is_refused(monkeypatch):
    # SQLite ignores select_for_update: simulate the other till writing right after our check.
    import gifts.services as services

    staff, other = StaffFactory(), StaffFactory()
    gift = GiftCodeFactory()
    real_check = services.gift_code_check
    calls = []

    def check_then_other_till_redeems(g, *, now=None):
        real_check(g, now=now)
        if not calls:
            calls.append(1)
            GiftCode.objects.filter(pk=g.pk).update(redeemed_at=now, redeemed_by=other)

    monkeypatch.setattr(services, "gift_code_check", check_then_other_till_redeems)
    with pytest.raises(ValidationError) as error:
        gift_code_redeem(code=gift.code, redeemed_by=staff)
    assert error.value.code == "redeemed"
    # The refusal rolls back our transaction (the simulated write with it): we never claimed the code.
    gift.refresh_from_db()
    assert gift.redeemed_by_id != staff.pk
    assert not Touchpoint.objects.exists()


def test_no_code_is_issued_to_a_customer_whose_details_were_erased():
    from django.utils import timezone

    customer = CustomerFactory(erased_at=timezone.now())
    with pytest.raises(ValidationError) as error:
        gift_code_issue(customer=customer, kind="percent", value=10, expires_on=date(2030, 1, 1), source="birthday")
    assert error.value.code == "erased"
    assert not GiftCode.objects.exists()
