"""An event as an iCalendar (.ics) file, with its times in the shop's zone and that zone's rules."""

import zoneinfo

from django.conf import settings
from icalendar import Calendar
from icalendar import Event as ICalEvent

from community.models import Event


def uid_host() -> str:
    """The host part of UIDs, so a calendar app recognises the same entry on every download."""
    return settings.SITE_URL.split("://")[-1].split("/")[0] or "rapport.invalid"


def calendar_new(*, prodid: str) -> Calendar:
    """An empty VCALENDAR (version 2.0, PUBLISH) for Rapport's .ics files and feeds."""
    cal = Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    return cal


def event_ics(*, event: Event, tz: zoneinfo.ZoneInfo) -> bytes:
    """One VEVENT with TZID-local times and a VTIMEZONE, so calendars get DST right."""
    cal = calendar_new(prodid="-//Rapport//Community events//EN")
    vevent = ICalEvent()
    vevent.add("uid", f"event-{event.pk}@{uid_host()}")
    vevent.add("dtstamp", event.updated_at or event.created_at)
    vevent.add("dtstart", event.starts_at.astimezone(tz))
    vevent.add("dtend", event.ends_at.astimezone(tz))
    vevent.add("summary", event.title)
    if event.description:
        vevent.add("description", event.description)
    if event.place:
        vevent.add("location", event.place)
    cal.add_component(vevent)
    cal.add_missing_timezones()
    return cal.to_ical()
