"""What day it is for the shop. Storage is UTC; pages, plans and due dates use the shop's calendar."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from crm.models import ShopSettings


def shop_today(now: datetime | None = None, tz: ZoneInfo | None = None) -> date:
    """The shop's date at `now` (default: this instant) in `tz` (default: the shop's time zone).

    No query while serving a request: ShopSettings.load() returns the row the middleware read.
    """
    return (now or timezone.now()).astimezone(tz or ShopSettings.load().tz).date()
