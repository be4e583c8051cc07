"""Small display helpers for customer pages."""

import calendar
from datetime import UTC, datetime

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.timesince import MONTHS_DAYS, TIME_CHUNKS, TIME_STRINGS_KEYS
from django.utils.translation import get_language

from crm.money import money_format
from customers.card_cache import fragment_set

register = template.Library()


@register.filter
def money(amount, currency: str = "GBP") -> str:
    """{{ amount|money:shop.currency }}: crm.money.money_format ("£94,818.20")."""
    return money_format(amount, currency)


@register.filter
def month_name(month) -> str:
    try:
        return calendar.month_name[int(month)]
    except (TypeError, ValueError, IndexError):
        return ""


@register.filter
def join_names(value) -> str:
    """A NamesField value (a list after validation, text before) back into "a, b"."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value or ""


@register.filter
def datetime_local(value) -> str:
    """A datetime (or the text typed) as a datetime-local input value, in the active (shop) zone."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%dT%H:%M")
    return value or ""


_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.filter
def time_tag(value) -> str:
    """<time datetime="…">Thu 26 Nov 2026, 14:05</time> in the active (shop) zone, for timeline entries.

    The same as `|date:'c'` and `|date:"D j M Y, H:i"`, which cost ~35 us each, twice per entry.
    """
    if not isinstance(value, datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    if get_language().startswith("en"):  # Django's names are lazy translations: a lookup each time
        weekday, month = _EN_WEEKDAYS[value.weekday()], _EN_MONTHS[value.month]
    else:
        weekday, month = escape(WEEKDAYS_ABBR[value.weekday()]), escape(MONTHS_3[value.month].title())
    # Digits, "-:+T" and the day's and month's names: nothing else to escape (format_html costs more).
    return mark_safe(
        f'<time class="small text-body-secondary" datetime="{value.isoformat(timespec="seconds")}">'
        f"{weekday} {value.day} {month} {value.year}, {value.hour:02d}:{value.minute:02d}</time>"
    )


@register.inclusion_tag("customers/includes/_badges.html")
def relationship_badges(customer, small: bool = False) -> dict:
    return {"customer": customer, "small": small}


def _english_timesince(d: datetime, now: datetime) -> str:
    """django.utils.timesince.timesince(d, now) for English, depth 2, without its lazy translated strings.

    The same calendar arithmetic (years and months from a pivot date, then weeks, days, hours,
    minutes); tests compare the two. Each list and search row shows one.
    """
    now = now.astimezone(d.tzinfo)
    delta = now - d
    if delta.days * 86400 + delta.seconds <= 0:
        return "0\xa0minutes"
    total_months = (now.year - d.year) * 12 + (now.month - d.month)
    if d.day > now.day or (d.day == now.day and d.time() > now.time()):
        total_months -= 1
    years, months = divmod(total_months, 12)
    pivot = d
    if years or months:
        pivot_year, pivot_month = d.year + years, d.month + months
        if pivot_month > 12:
            pivot_month, pivot_year = pivot_month - 12, pivot_year + 1
        pivot = datetime(
            pivot_year,
            pivot_month,
            min(MONTHS_DAYS[pivot_month - 1], d.day),
            d.hour,
            d.minute,
            d.second,
            tzinfo=d.tzinfo,
        )
    remaining = (now - pivot).total_seconds()
    counts = [years, months]
    for chunk in TIME_CHUNKS:
        count = int(remaining // chunk)
        counts.append(count)
        remaining -= chunk * count
    first = next((i for i, count in enumerate(counts) if count), None)
    if first is None:
        return "0\xa0minutes"
    parts = []
    for unit, count in zip(TIME_STRINGS_KEYS[first : first + 2], counts[first : first + 2]):
        if not count:
            break
        parts.append(f"{count}\xa0{unit}{'' if count == 1 else 's'}")
    return ", ".join(parts)


@register.filter
def seen_ago(value):
    """humanize's naturaltime, with a cheap path for English and moments over a day ago.

    The customer rows of search and the list show one per row; naturaltime's translated,
    lazily-pluralised strings were most of those rows' rendering time.
    """
    if isinstance(value, datetime) and timezone.is_aware(value) and (get_language() or "").startswith("en"):
        now = datetime.now(UTC)
        if (now - value).days > 0:
            return f"{_english_timesince(value, now)} ago"
    return naturaltime(value)


# Stands for the viewer's CSRF token in cached HTML. NUL cannot be stored in any text a user typed
# (PostgreSQL refuses it, the forms reject it), so no user text can contain it.
CSRF_STAND_IN = "\x00csrf-token\x00"


class CardFragmentNode(template.Node):
    def __init__(self, nodelist, part):
        self.nodelist, self.part = nodelist, part

    def render(self, context) -> str:
        key, html = (context.get("card_fragments") or {}).get(self.part.resolve(context), (None, None))
        if not key:
            return self.nodelist.render(context)
        if html is None:
            with context.push(csrf_token=CSRF_STAND_IN):  # what {% csrf_token %} writes inside
                html = str(self.nodelist.render(context))
            drawn = context.get("card_fragments_drawn")
            if drawn is not None:
                drawn[key] = html  # the view stores them all at once (fragments_store)
            else:
                fragment_set(key, html)
        # HTML this template rendered (user text escaped then), with this viewer's own token.
        return mark_safe(html.replace(CSRF_STAND_IN, str(context.get("csrf_token", ""))))


@register.tag
def card_fragment(parser, token):
    """{% card_fragment "timeline" %}…{% end_card_fragment %}: the enclosed HTML from the friend card's
    (or My day's) versioned cache (customers/card_cache.py), rendered only when missing.

    The view puts `card_fragments` ({part: (key, cached HTML or None)}) in the context (no key: rendered
    every time). Every staff
    member is served the same HTML: nothing of the viewer may be in it but `{% csrf_token %}`, which is
    stored as a stand-in and filled in with the viewer's token on the way out.
    """
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% card_fragment %} takes the part's name")
    nodelist = parser.parse(("end_card_fragment",))
    parser.delete_first_token()
    return CardFragmentNode(nodelist, parser.compile_filter(bits[1]))
