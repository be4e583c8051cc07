from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Q, Sum
from django.urls import reverse

from customers.models import Customer, FollowUp
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug_on(settings):
    """seed_demo runs on a developer's machine (DEBUG=True); pytest-django turns DEBUG off."""
    settings.DEBUG = True


def test_seed_demo_makes_the_logins_customers_touchpoints_and_followups():
    call_command("seed_demo", customers=40, touchpoints=600, seed=3)

    assert User.objects.get(username="owner").groups.filter(name="Owner").exists()
    assert User.objects.get(username="staff").groups.filter(name="Staff").exists()
    assert User.objects.get(username="staff").check_password("rapport-demo")
    assert Customer.objects.count() == 40
    assert Touchpoint.objects.count() == 600
    assert FollowUp.objects.exists()
    assert Touchpoint.objects.filter(kind=Touchpoint.Kind.PURCHASE, amount__gt=0).exists()


def test_each_demo_customers_email_is_made_from_their_own_name_at_a_reserved_domain():
    import re

    from demo.management.commands.seed_demo import SHORT_FORMS

    call_command("seed_demo", customers=300, touchpoints=300, seed=8)

    customers = list(Customer.objects.values_list("first_name", "last_name", "preferred_name", "email"))
    emails = [email for _, _, _, email in customers if email]
    assert len(emails) > 200
    # first.last@example.com (numbered if two share a name), from the name the list shows beside it.
    for first, last, preferred, email in customers:
        if email:
            local = f"{first}.{last}".lower().replace("'", "")
            assert re.fullmatch(rf"{re.escape(local)}\d*@example\.com", email), (first, last, email)
        # A preferred name is the short form of their own first name ("Nick" for Nicholas), never another name.
        assert preferred in ("", SHORT_FORMS.get(first)), (first, preferred)
    assert any(preferred for _, _, preferred, _ in customers)
    assert len({e.lower() for e in emails}) == len(emails)


@pytest.mark.django_db(transaction=True)  # each run commits, as two runs of the command would
def test_a_second_demo_load_numbers_the_addresses_the_first_one_took():
    call_command("seed_demo", customers=60, touchpoints=0, seed=9, no_history=True)
    call_command("seed_demo", customers=60, touchpoints=0, seed=9, no_history=True)

    # The same seed makes the same names, so every address of the second run was taken: it is numbered.
    emails = [e.lower() for e in Customer.objects.exclude(email="").values_list("email", flat=True)]
    assert len(emails) == len(set(emails)) > 80
    assert sum(e.split("@")[0][-1] == "2" for e in emails) >= len(emails) // 2


def test_seed_demo_sets_each_customers_figures_from_its_touchpoints():
    call_command("seed_demo", customers=30, touchpoints=500, seed=4)

    expected = Customer.objects.annotate(
        last=Max("touchpoints__happened_at"),
        purchases=Count("touchpoints", filter=Q(touchpoints__kind="purchase")),
        spend=Sum("touchpoints__amount", filter=Q(touchpoints__kind="purchase")),
        first_purchase=Min("touchpoints__happened_at", filter=Q(touchpoints__kind="purchase")),
    )
    seen_with_touchpoints = 0
    for customer in expected:
        assert customer.last_touchpoint_at == customer.last
        assert customer.purchase_count == customer.purchases
        assert customer.lifetime_spend == (customer.spend or Decimal("0"))
        assert customer.first_purchase_at == customer.first_purchase
        seen_with_touchpoints += customer.last is not None
    assert seen_with_touchpoints > 10
    # Health and stage follow the figures: a customer with 3+ purchases is at least a regular.
    assert not Customer.objects.filter(purchase_count__gte=3, stage=Customer.Stage.PROSPECT).exists()
    assert not Customer.objects.filter(last_touchpoint_at=None).exclude(health=Customer.Health.COLD).exists()


def test_seed_demo_if_empty_does_nothing_when_customers_exist():
    call_command("seed_demo", customers=5, touchpoints=10, seed=1)

    call_command("seed_demo", customers=50, touchpoints=100, if_empty=True)

    assert Customer.objects.count() == 5


def test_seed_demo_refuses_to_run_in_production_unless_forced(settings):
    settings.DEBUG = False
    settings.LOCAL_HTTP = False

    with pytest.raises(CommandError):
        call_command("seed_demo", customers=5, touchpoints=10)
    assert not Customer.objects.exists()

    call_command("seed_demo", customers=5, touchpoints=10, force=True)
    assert Customer.objects.count() == 5


def test_seed_demo_runs_on_the_shops_own_machine_with_debug_off(settings):
    # `make run`: DEBUG off but local HTTP (no production settings given).
    settings.DEBUG = False
    settings.LOCAL_HTTP = True

    call_command("seed_demo", customers=5, touchpoints=10)

    assert Customer.objects.count() == 5


def test_copy_text_escapes_what_would_break_a_row():
    from datetime import UTC, datetime

    from demo.management.commands.seed_demo import _pg_text

    assert _pg_text("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
    assert (_pg_text(None), _pg_text(True), _pg_text(False), _pg_text(7)) == ("\\N", "t", "f", "7")
    assert _pg_text(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"


def test_the_demo_year_is_steady_week_by_week_up_to_today_with_no_cliff():
    from django.db.models.functions import TruncWeek
    from django.utils import timezone

    call_command("seed_demo", customers=120, touchpoints=4000, seed=5)

    since = timezone.now() - timezone.timedelta(days=7 * 53)
    weeks = list(
        Touchpoint.objects.filter(happened_at__gte=since)
        .annotate(week=TruncWeek("happened_at"))
        .values("week")
        .annotate(n=Count("pk"))
        .order_by("week")
        .values_list("n", flat=True)
    )
    full_weeks = weeks[1:-1]  # the first and the current week are partial
    mean = sum(full_weeks) / len(full_weeks)
    assert len(full_weeks) >= 51
    # No week empty, and the last month as busy as the year (the old demo fell to almost nothing).
    assert min(full_weeks) > 0.4 * mean
    assert sum(full_weeks[-4:]) / 4 > 0.7 * mean
    # A note is never an empty entry on the timeline.
    assert not Touchpoint.objects.filter(kind=Touchpoint.Kind.NOTE, note="").exists()


def test_the_demo_year_leaves_emails_trends_follow_ups_events_and_history_behind(client):
    from datetime import timedelta

    from django.utils import timezone

    from automations.models import EmailOptOut, OutboundMessage
    from community.models import Event, Invitation, Newsletter, Segment
    from community.selectors import newsletter_report
    from crm.models import ShopSettings
    from dashboard.models import DailySnapshot
    from gifts.models import GiftCode

    call_command("seed_demo", customers=80, touchpoints=2000, seed=6)

    # Emails over the year, in every state an owner can meet, with sent ones in most months.
    statuses = set(OutboundMessage.objects.values_list("status", flat=True))
    assert {"sent", "failed", "suppressed", "cancelled", "unknown"} <= statuses
    sent_months = {
        d.strftime("%Y-%m") for d in OutboundMessage.objects.filter(status="sent").values_list("sent_at", flat=True)
    }
    assert len(sent_months) >= 10
    assert EmailOptOut.objects.exists()
    # The health and stage trend has a point every week of the year.
    assert DailySnapshot.objects.count() >= 52
    assert DailySnapshot.objects.filter(warm__gt=0).count() >= 50
    # And the rollups behind the other charts: touchpoints, follow-ups and emails, week by week.
    from dashboard.models import DailyActivity, DailyFollowUp, DailyMessage

    assert DailyActivity.objects.values("day").distinct().count() > 300
    assert DailyFollowUp.objects.filter(done__gt=0).values("day").distinct().count() > 20
    assert DailyMessage.objects.filter(outcome="sent").values("day").distinct().count() > 100
    # Follow-ups done and missed over the year.
    month_ago = timezone.localdate() - timezone.timedelta(days=30)
    assert FollowUp.objects.filter(status="done", due_date__lt=month_ago).count() > 20
    assert FollowUp.objects.filter(status="open", due_date__lt=month_ago).exists()  # missed
    # Segments, a newsletter sent with its report, a past event with check-ins and an upcoming one with answers.
    assert Segment.objects.count() == 3
    newsletter = Newsletter.objects.get()
    six_weeks_ago = timezone.now() - timedelta(days=42)
    # Handed to the outbox at its time, six weeks ago, after it was written; nothing is left to do.
    assert newsletter.status == Newsletter.Status.PLANNED  # a newsletter's last status, shown as "Sent to outbox"
    planned_at = newsletter.planned_at
    assert planned_at is not None
    assert abs(planned_at - six_weeks_ago) < timedelta(minutes=5)
    assert newsletter.created_at < planned_at
    assert not newsletter.history.filter(history_date__gt=planned_at + timedelta(seconds=1)).exists()
    assert not newsletter.is_editable
    # Every one of its rows was sent (most) or settled otherwise long ago, none waits in the outbox.
    rows = OutboundMessage.objects.filter(kind="newsletter", occasion_key=newsletter.occasion_key)
    assert rows.count() == newsletter.planned_count > 0
    assert not rows.filter(status__in=["planned", "sending"]).exists()
    shop_name = ShopSettings.load().name
    assert set(rows.filter(status="sent").values_list("subject", flat=True)) == {f"Autumn at {shop_name}"}
    assert all(
        sent_at < six_weeks_ago + timedelta(hours=1) for sent_at in rows.values_list("sent_at", flat=True) if sent_at
    )
    report = newsletter_report(newsletter)
    assert report["planned"] == 0
    assert report["sent"] > 0
    # The owner sees that report on the newsletter's page.
    client.force_login(User.objects.get(username="owner"))
    page = client.get(reverse("community:newsletter_detail", args=[newsletter.pk])).content.decode()
    assert 'data-testid="report"' in page
    assert f'data-testid="report-sent">{report["sent"]}<' in page
    assert "Sent to outbox" in page
    past, upcoming = Event.objects.order_by("starts_at")
    assert Invitation.objects.filter(event=past, checked_in_at__isnull=False).exists()
    assert Invitation.objects.filter(event=upcoming, answer="going").exists()
    assert Invitation.objects.filter(event=upcoming, answer="declined").exists()
    # Gift codes issued and redeemed, and every customer's "created" history entry.
    assert GiftCode.objects.filter(redeemed_at__isnull=False).exists()
    assert Customer.history.filter(history_type="+").count() == Customer.objects.count()


def test_the_real_planner_never_plans_again_what_the_demo_year_sent():
    from django.utils import timezone

    from automations.models import OutboundMessage
    from automations.planners import plan_all

    call_command("seed_demo", customers=80, touchpoints=2000, seed=7)
    before = set(OutboundMessage.objects.values_list("customer_id", "kind", "occasion_key"))

    plan_all(now=timezone.now())

    # Whatever it adds is new: today's occasions, not a second email for one the demo already had.
    added = set(OutboundMessage.objects.values_list("customer_id", "kind", "occasion_key")) - before
    assert all(
        kind != "thankyou" or occasion not in {o for _, k, o in before if k == "thankyou"}
        for _, kind, occasion in added
    )
    # And it has something to do whatever the day and hour: the demo gives someone the birthday it greets today.
    assert OutboundMessage.objects.filter(status="planned", kind="birthday").exists()
