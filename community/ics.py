"""An event as an iCalendar (.ics) file, with its times in the shop's zone and that zone's rules."""

import zoneinfo

from django.conf import settings
from icalendar import Calendar
from icalendar import Event as ICalEvent

from community.models import Event


def event_ics(*, event: Event, tz: zoneinfo.ZoneInfo) -> bytes:
    """One VEVENT with TZID-local times and a VTIMEZONE, so calendars get DST right."""
    cal = Calendar()
    cal.add("prodid", "-//Rapport//Community events//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    vevent = ICalEvent()
    host = settings.SITE_URL.split("://")[-1].split("/")[0] or "rapport.invalid"
    vevent.add("uid", f"event-{event.pk}@{host}")
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
