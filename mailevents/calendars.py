"""A staff member's calendar feed (.ics): their customers' birthdays and important dates, their open follow-ups.

All-day entries on dates worked out in the shop's time zone; a 29 February date falls on 28 February
(or 1 March, as the shop chose for birthday greetings) in other years. Entries keep the same UID on
every download, so a subscribed phone updates them instead of adding copies.
"""

import calendar
from datetime import date, datetime, timedelta

from django.conf import settings
from django.urls import reverse
from icalendar import Event as ICalEvent

from automations.models import Automation
from community.ics import calendar_new, uid_host
from crm.clock import shop_today
from crm.models import ShopSettings
from customers.models import Customer, FollowUp, ImportantDate
from mailevents.models import CalendarFeed

DAYS_BACK = 31  # entries this far back stay, so "last week" is still there
DAYS_AHEAD = 366


def yearly_date(*, day: int, month: int, year: int, leap_day_on_march_1: bool) -> date:
    """The date a yearly (day, month) is kept on in `year`, with the shop's 29 February rule."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 3, 1) if leap_day_on_march_1 else date(year, 2, 28)
    return date(year, month, day)


def _yearly_dates(*, day: int, month: int, start: date, end: date, leap_day_on_march_1: bool) -> list[date]:
    found = []
    for year in range(start.year, end.year + 1):
        when = yearly_date(day=day, month=month, year=year, leap_day_on_march_1=leap_day_on_march_1)
        if start <= when <= end:
            found.append(when)
    return found


def _card_urls() -> str:
    """ "https://…/customers/{}/": reversed once per feed, not once per entry (a shop's feed has thousands)."""
    return settings.SITE_URL.rstrip("/") + reverse("customers:detail", args=[987654321]).replace("987654321", "{}")


def _all_day(*, uid: str, day: date, summary: str, description: str, stamp: datetime) -> ICalEvent:
    entry = ICalEvent()
    entry.add("uid", f"{uid}@{uid_host()}")
    entry.add("dtstamp", stamp)
    entry.add("dtstart", day)
    entry.add("dtend", day + timedelta(days=1))
    entry.add("summary", summary)
    entry.add("description", description)
    entry.add("transp", "TRANSPARENT")  # a birthday does not make anyone busy
    return entry


def calendar_feed_ics(*, feed: CalendarFeed, now: datetime) -> bytes:
    """The whole feed in a fixed number of queries (shop, setting, customers, dates, follow-ups)."""
    shop = ShopSettings.load()
    today = shop_today(now, shop.tz)
    start, end = today - timedelta(days=DAYS_BACK), today + timedelta(days=DAYS_AHEAD)
    # The shop's choice for birthday greetings (automations settings); no row yet means the default, 28 February.
    leap_rule = bool(
        Automation.objects.filter(kind=Automation.Kind.BIRTHDAY).values_list("leap_day_on_march_1", flat=True).first()
    )
    whole_shop = feed.scope == CalendarFeed.Scope.SHOP

    customers = Customer.objects.filter(is_archived=False, erased_at__isnull=True)
    followups = FollowUp.objects.filter(status=FollowUp.Status.OPEN, customer__is_archived=False)
    if not whole_shop:
        customers = customers.filter(owner=feed.user)
        followups = followups.filter(assignee=feed.user)
    dates = ImportantDate.objects.filter(customer__in=customers).select_related("customer").order_by("pk")
    who = "the shop" if whole_shop else (feed.user.get_full_name() or feed.user.get_username())

    card_url = _card_urls().format
    cal = calendar_new(prodid="-//Rapport//Staff calendar//EN")
    cal.add("x-wr-calname", f"{shop.name}: birthdays and follow-ups ({who})")
    cal.add("x-wr-timezone", shop.time_zone)
    cal.add("x-published-ttl", "PT1H")

    birthdays = (
        customers.filter(birthday_day__isnull=False, birthday_month__isnull=False)
        .only("pk", "first_name", "last_name", "preferred_name", "birthday_day", "birthday_month", "birthday_year")
        .order_by("pk")
    )
    for customer in birthdays:
        assert customer.birthday_day and customer.birthday_month  # filtered above
        for day in _yearly_dates(
            day=customer.birthday_day,
            month=customer.birthday_month,
            start=start,
            end=end,
            leap_day_on_march_1=leap_rule,
        ):
            turns = f" (turns {day.year - customer.birthday_year})" if customer.birthday_year else ""
            cal.add_component(
                _all_day(
                    uid=f"birthday-{customer.pk}-{day.year}",
                    day=day,
                    stamp=now,
                    summary=f"Birthday: {customer.full_name}{turns}",
                    description=card_url(customer.pk),
                )
            )
    for important in dates:
        for day in _yearly_dates(
            day=important.date_day, month=important.date_month, start=start, end=end, leap_day_on_march_1=leap_rule
        ):
            cal.add_component(
                _all_day(
                    uid=f"date-{important.pk}-{day.year}",
                    day=day,
                    stamp=now,
                    summary=f"{important.label}: {important.customer.full_name}",
                    description=card_url(important.customer_id),
                )
            )
    for followup in followups.select_related("customer", "assignee").order_by("due_date", "pk"):
        overdue = followup.due_date < today
        for_whom = ""
        if whole_shop and followup.assignee:
            for_whom = f" [{followup.assignee.get_full_name() or followup.assignee.get_username()}]"
        cal.add_component(
            _all_day(
                # Overdue ones sit on today until they are done, so they are not lost in the past.
                uid=f"followup-{followup.pk}",
                day=today if overdue else followup.due_date,
                stamp=now,
                summary=f"{'Overdue: ' if overdue else ''}{followup.reason}: {followup.customer.full_name}{for_whom}",
                description=(f"Due {followup.due_date:%d %b %Y}. " if overdue else "") + card_url(followup.customer_id),
            )
        )
    return cal.to_ical()
