"""Planners: each automation on its day (not the day before or after), in the shop's time zone."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from automations.models import Automation, OutboundMessage
from automations.planners import (
    plan_all,
    plan_birthdays,
    plan_digests,
    plan_gift_expiry_reminders,
    plan_thank_yous,
    plan_we_miss_you,
)
from automations.services import automation_get
from automations.tasks import automations_plan_task
from customers.models import FollowUp
from tests.automations.conftest import at
from tests.factories import CustomerFactory, GiftCodeFactory, ProductFactory, StaffFactory
from touchpoints.services import touchpoint_log

pytestmark = pytest.mark.django_db


def plan_on(moment: datetime, planner=plan_birthdays) -> list[OutboundMessage]:
    with time_machine.travel(moment, tick=False):
        planner(now=timezone.now())
    return list(OutboundMessage.objects.order_by("pk"))


def configure(kind: str, **fields) -> Automation:
    automation = automation_get(kind)
    for name, value in fields.items():
        setattr(automation, name, value)
    automation.save()
    return automation


# --- Birthday -------------------------------------------------------------------------


def test_a_birthday_greeting_is_planned_seven_days_before_at_ten_in_the_morning_shop_time():
    customer = CustomerFactory(birthday_day=20, birthday_month=6)

    rows = plan_on(at("2027-06-13 12:00"))

    assert [(r.customer_id, r.kind, r.occasion_key) for r in rows] == [(customer.pk, "birthday", "birthday:2027")]
    # London is on summer time (UTC+1): 10:00 there is 09:00 UTC.
    assert rows[0].planned_at == at("2027-06-13 09:00")
    assert rows[0].status == "planned"
    assert rows[0].recipient_key == f"c:{customer.pk}"


@pytest.mark.parametrize("day", ["2027-06-12 12:00", "2027-06-14 12:00"])
def test_no_birthday_greeting_is_planned_the_day_before_or_after(day):
    CustomerFactory(birthday_day=20, birthday_month=6)

    assert plan_on(at(day)) == []


def test_running_the_birthday_plan_twice_adds_nothing():
    CustomerFactory.create_batch(3, birthday_day=20, birthday_month=6)

    plan_on(at("2027-06-13 08:00"))
    rows = plan_on(at("2027-06-13 17:00"))

    assert len(rows) == 3


def test_customers_without_consent_or_archived_are_not_planned():
    CustomerFactory(birthday_day=20, birthday_month=6, email_consent=False)
    CustomerFactory(birthday_day=20, birthday_month=6, is_archived=True)
    CustomerFactory(birthday_day=20, birthday_month=6, email="")

    assert plan_on(at("2027-06-13 12:00")) == []


def test_a_29_february_birthday_is_greeted_as_28_february_in_2027():
    leapling = CustomerFactory(birthday_day=29, birthday_month=2)

    assert plan_on(at("2027-02-20 12:00")) == []
    rows = plan_on(at("2027-02-21 12:00"))  # 28 February minus 7 days

    assert [(r.customer_id, r.occasion_key) for r in rows] == [(leapling.pk, "birthday:2027")]
    assert rows[0].context["birthday"] == "2027-02-28"
    assert len(plan_on(at("2027-02-22 12:00"))) == 1


def test_a_29_february_birthday_is_greeted_as_1_march_in_2027_when_the_owner_chooses():
    configure("birthday", leap_day_on_march_1=True)
    CustomerFactory(birthday_day=29, birthday_month=2)

    assert plan_on(at("2027-02-21 12:00")) == []
    rows = plan_on(at("2027-02-22 12:00"))  # 1 March minus 7 days

    assert rows[0].context["birthday"] == "2027-03-01"


def test_a_29_february_birthday_is_greeted_on_its_own_day_in_2028():
    CustomerFactory(birthday_day=29, birthday_month=2)
    born_28th = CustomerFactory(birthday_day=28, birthday_month=2)

    assert [r.customer_id for r in plan_on(at("2028-02-21 12:00"))] == [born_28th.pk]
    rows = plan_on(at("2028-02-22 12:00"))

    assert len(rows) == 2
    assert rows[1].context["birthday"] == "2028-02-29"


def test_a_2_january_birthday_is_planned_in_december_of_the_year_before():
    customer = CustomerFactory(birthday_day=2, birthday_month=1)

    assert plan_on(at("2026-12-25 12:00")) == []
    rows = plan_on(at("2026-12-26 12:00"))

    assert [(r.customer_id, r.occasion_key) for r in rows] == [(customer.pk, "birthday:2027")]
    assert rows[0].planned_at == at("2026-12-26 10:00", "Europe/London")


def test_review_mode_puts_birthday_greetings_in_the_queue_as_drafts():
    configure("birthday", review_before_sending=True)
    CustomerFactory(birthday_day=20, birthday_month=6)

    assert plan_on(at("2027-06-13 12:00"))[0].status == "draft"


def test_a_switched_off_automation_plans_nothing():
    configure("birthday", enabled=False)
    CustomerFactory(birthday_day=20, birthday_month=6)

    assert plan_on(at("2027-06-13 12:00")) == []


# --- Time zones and DST -------------------------------------------------------------------


def test_new_york_spring_forward_day_plans_ten_in_the_morning_daylight_time(shop_zone):
    shop_zone("America/New_York")
    configure("birthday", days=0)
    CustomerFactory(birthday_day=7, birthday_month=3)
    CustomerFactory(birthday_day=8, birthday_month=3)

    saturday = plan_on(at("2026-03-07 14:00"))
    sunday = plan_on(at("2026-03-08 14:00"))

    assert saturday[0].planned_at == at("2026-03-07 15:00")  # 10:00 EST (UTC-5)
    assert sunday[1].planned_at == at("2026-03-08 14:00")  # 10:00 EDT (UTC-4)


def test_new_york_today_is_the_shop_date_not_the_utc_date(shop_zone):
    shop_zone("America/New_York")
    configure("birthday", days=0)
    CustomerFactory(birthday_day=7, birthday_month=3)

    # 03:30 UTC on the 8th is still 22:30 on the 7th in New York.
    rows = plan_on(at("2026-03-08 03:30"))

    assert rows[0].context["birthday"] == "2026-03-07"


def test_new_york_fall_back_day_digest_is_at_eight_standard_time(shop_zone):
    shop_zone("America/New_York")
    staff = StaffFactory()

    plan_on(at("2026-10-31 10:00"), plan_digests)
    plan_on(at("2026-11-01 10:00"), plan_digests)
    rows = list(OutboundMessage.objects.filter(staff_user=staff).order_by("planned_at"))

    assert [r.occasion_key for r in rows] == ["digest:2026-10-31", "digest:2026-11-01"]
    assert rows[0].planned_at == at("2026-10-31 12:00")  # 08:00 EDT
    assert rows[1].planned_at == at("2026-11-01 13:00")  # 08:00 EST


def test_auckland_digest_follows_new_zealand_daylight_saving(shop_zone):
    shop_zone("Pacific/Auckland")
    staff = StaffFactory()

    # 5 April 2026: NZDT (UTC+13) ends; 27 September 2026: NZDT starts.
    plan_on(at("2026-04-04 12:30"), plan_digests)  # 00:30 on the 5th in Auckland
    plan_on(at("2026-09-26 12:30"), plan_digests)  # 00:30 on the 27th (still NZST)
    rows = list(OutboundMessage.objects.filter(staff_user=staff).order_by("planned_at"))

    assert [r.occasion_key for r in rows] == ["digest:2026-04-05", "digest:2026-09-27"]
    assert rows[0].planned_at == at("2026-04-04 20:00")  # 08:00 NZST (UTC+12)
    assert rows[1].planned_at == at("2026-09-26 19:00")  # 08:00 NZDT (UTC+13)


def test_a_digest_is_not_planned_after_noon_shop_time():
    StaffFactory()

    assert plan_on(at("2027-06-13 12:30"), plan_digests) == []  # 13:30 in London


def test_staff_without_an_email_get_no_digest():
    StaffFactory(email="")

    assert plan_on(at("2027-06-13 05:00"), plan_digests) == []


# --- Gift expiry ---------------------------------------------------------------------------


def test_a_gift_expiry_reminder_is_planned_seven_days_before_the_last_day_only_if_unredeemed():
    gift = GiftCodeFactory(expires_on=date(2027, 5, 10))
    GiftCodeFactory(expires_on=date(2027, 5, 10), redeemed_at=at("2027-04-01 12:00"))

    assert plan_on(at("2027-05-02 12:00"), plan_gift_expiry_reminders) == []
    rows = plan_on(at("2027-05-03 12:00"), plan_gift_expiry_reminders)
    assert [(r.customer_id, r.occasion_key, r.context) for r in rows] == [
        (gift.customer_id, f"giftexpiry:{gift.pk}", {"gift_code_id": gift.pk})
    ]
    assert len(plan_on(at("2027-05-04 12:00"), plan_gift_expiry_reminders)) == 1


# --- We miss you -----------------------------------------------------------------------------


def test_we_miss_you_is_planned_once_when_the_cadence_passes():
    customer = CustomerFactory(cadence_days=30, last_touchpoint_at=at("2027-03-01 12:00"))
    CustomerFactory(cadence_days=None, last_touchpoint_at=at("2027-03-01 12:00"))  # shop default: 60 days

    assert plan_on(at("2027-03-30 12:00"), plan_we_miss_you) == []
    assert plan_on(at("2027-03-31 11:00"), plan_we_miss_you) == []
    rows = plan_on(at("2027-03-31 13:00"), plan_we_miss_you)
    assert [(r.customer_id, r.occasion_key) for r in rows] == [(customer.pk, "wemissyou:2027-03-01")]
    # Once per lapse: the days after add nothing.
    assert len(plan_on(at("2027-04-01 13:00"), plan_we_miss_you)) == 1
    assert len(plan_on(at("2027-04-05 13:00"), plan_we_miss_you)) == 1


def test_we_miss_you_uses_the_shop_default_cadence_when_the_customer_has_none():
    customer = CustomerFactory(cadence_days=None, last_touchpoint_at=at("2027-03-01 12:00"))

    assert plan_on(at("2027-04-29 13:00"), plan_we_miss_you) == []
    rows = plan_on(at("2027-04-30 13:00"), plan_we_miss_you)  # 60 days later

    assert [r.customer_id for r in rows] == [customer.pk]


def test_any_touchpoint_resets_the_we_miss_you_clock_and_cancels_a_planned_one():
    staff = StaffFactory()
    customer = CustomerFactory(cadence_days=30, last_touchpoint_at=at("2027-03-01 12:00"))
    [planned] = plan_on(at("2027-03-31 13:00"), plan_we_miss_you)

    with time_machine.travel(at("2027-03-31 15:00"), tick=False):
        touchpoint_log(customer=customer, logged_by=staff, kind="call", note="Rang to say hello")
    planned.refresh_from_db()
    assert planned.status == "cancelled"
    assert planned.status_reason == "They got in touch again"

    # The clock starts again from the call: nothing until 30 days after it.
    assert len(plan_on(at("2027-04-29 13:00"), plan_we_miss_you)) == 1
    rows = plan_on(at("2027-04-30 16:00"), plan_we_miss_you)
    assert [r.occasion_key for r in rows] == ["wemissyou:2027-03-01", "wemissyou:2027-03-31"]


# --- Thank-you notes ---------------------------------------------------------------------------


def test_a_thank_you_note_is_planned_the_day_after_a_purchase_naming_what_they_bought():
    staff = StaffFactory()
    customer = CustomerFactory()
    coffee, cake = ProductFactory(name="Flat white"), ProductFactory(name="Carrot cake")
    with time_machine.travel(at("2027-05-10 14:00"), tick=False):
        purchase = touchpoint_log(
            customer=customer, logged_by=staff, kind="purchase", amount=Decimal("7.50"), products=[coffee, cake]
        )

    assert plan_on(at("2027-05-10 20:00"), plan_thank_yous) == []
    rows = plan_on(at("2027-05-11 08:00"), plan_thank_yous)

    assert [(r.occasion_key, r.context["products"]) for r in rows] == [
        (f"thankyou:{purchase.pk}", ["Carrot cake", "Flat white"])
    ]
    assert rows[0].planned_at == at("2027-05-11 14:00")  # the time of day of the purchase
    assert len(plan_on(at("2027-05-12 08:00"), plan_thank_yous)) == 1


def test_at_most_one_thank_you_per_customer_in_fourteen_days():
    staff = StaffFactory()
    customer = CustomerFactory()
    for day in ("2027-05-10", "2027-05-15", "2027-05-25"):
        with time_machine.travel(at(f"{day} 12:00"), tick=False):
            touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=Decimal(5))
        plan_on(at(f"{day} 12:00") + timedelta(days=1), plan_thank_yous)

    keys = list(OutboundMessage.objects.filter(kind="thankyou").values_list("planned_at", flat=True))
    assert sorted(d.date() for d in keys) == [date(2027, 5, 11), date(2027, 5, 26)]


# --- Hooks: loyalty, referral, make it right ------------------------------------------------------


def test_every_third_purchase_plans_a_loyalty_gift_when_k_is_three():
    configure("loyalty", every_k=3)
    staff = StaffFactory()
    customer = CustomerFactory()
    with time_machine.travel(at("2027-05-10 12:00"), tick=False):
        for _ in range(2):
            touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=Decimal(5))
        assert not OutboundMessage.objects.filter(kind="loyalty").exists()
        touchpoint_log(customer=customer, logged_by=staff, kind="purchase", amount=Decimal(5))

    assert list(OutboundMessage.objects.filter(kind="loyalty").values_list("occasion_key", flat=True)) == ["loyalty:3"]


def test_a_referred_friends_first_purchase_plans_a_thank_you_to_the_referrer_once():
    staff = StaffFactory()
    referrer = CustomerFactory()
    friend = CustomerFactory(referred_by=referrer)
    with time_machine.travel(at("2027-05-10 12:00"), tick=False):
        touchpoint_log(customer=friend, logged_by=staff, kind="visit")
        assert not OutboundMessage.objects.filter(kind="referral").exists()
        touchpoint_log(customer=friend, logged_by=staff, kind="purchase", amount=Decimal(5))
        touchpoint_log(customer=friend, logged_by=staff, kind="purchase", amount=Decimal(5))

    rows = list(OutboundMessage.objects.filter(kind="referral"))
    assert [(r.customer_id, r.occasion_key) for r in rows] == [(referrer.pk, f"referral:{friend.pk}")]


def test_a_complaint_on_friday_opens_a_follow_up_for_the_relationship_owner_due_monday():
    owner_of_relationship, logger = StaffFactory(), StaffFactory()
    customer = CustomerFactory(owner=owner_of_relationship)
    with time_machine.travel(at("2027-05-14 15:00"), tick=False):  # a Friday
        touchpoint_log(
            customer=customer,
            logged_by=logger,
            kind="feedback",
            feedback_kind="complaint",
            sentiment=-1,
            note="Cold coffee",
        )

    followup = FollowUp.objects.get(customer=customer)
    assert (followup.assignee, followup.due_date, followup.source) == (
        owner_of_relationship,
        date(2027, 5, 17),
        "complaint",
    )
    assert "Cold coffee" in followup.reason
    assert not OutboundMessage.objects.exists()  # no automatic email


def test_praise_opens_no_follow_up():
    customer = CustomerFactory()
    touchpoint_log(customer=customer, logged_by=StaffFactory(), kind="feedback", feedback_kind="praise", sentiment=1)

    assert not FollowUp.objects.exists()


# --- All together -------------------------------------------------------------------------------


def test_the_plan_task_run_twice_adds_nothing_the_second_time():
    StaffFactory()
    CustomerFactory(birthday_day=20, birthday_month=6)
    CustomerFactory(cadence_days=30, last_touchpoint_at=at("2027-05-14 05:00"))
    GiftCodeFactory(expires_on=date(2027, 6, 20))

    with time_machine.travel(at("2027-06-13 06:00"), tick=False):
        automations_plan_task.delay()
        first = OutboundMessage.objects.count()
        automations_plan_task.delay()
        plan_all(now=timezone.now())

    assert first == 4
    assert OutboundMessage.objects.count() == 4


def test_planning_runs_once_when_a_worker_starts():
    from celery.signals import worker_ready

    CustomerFactory(birthday_day=20, birthday_month=6)

    # What Celery sends when a worker is up (celery.apps.worker.on_consumer_ready); tasks run inline here.
    with time_machine.travel(at("2027-06-13 06:00"), tick=False):
        worker_ready.send(sender=None)

    # Today's greeting is planned now, not at the next hour's beat.
    assert list(OutboundMessage.objects.values_list("kind", "occasion_key")) == [("birthday", "birthday:2027")]
