"""`{% cached_url %}`: `{% url %}` for links whose arguments are ids (and fixed words), reversed once.

Lists link every row to a few pages; `reverse` on each link was a fifth or more of the time to
render such a list. The URL is reversed once per view name with stand-in ids and then filled in.
Only for the project's own URL patterns: ids are non-negative ints, and no fixed part of a URL
contains the stand-in digits.
"""

from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse

register = template.Library()

_STAND_IN = 987_654_320  # + the argument's position: digits, so <int:…> converters accept it


@lru_cache(maxsize=512)
def _url_format(view_name: str, script_prefix: str, args: tuple) -> str:
    """e.g. ("customers:followup_action", "/", (None, "done")) -> "/followups/{0}/done/"."""
    stand_ins = [_STAND_IN + i if arg is None else arg for i, arg in enumerate(args)]
    url = reverse(view_name, args=stand_ins).replace("{", "{{").replace("}", "}}")
    for i, arg in enumerate(args):
        if arg is None:
            url = url.replace(str(_STAND_IN + i), f"{{{i}}}", 1)
    return url


@register.simple_tag
def cached_url(view_name: str, *args) -> str:
    """Like {% url view_name args… %}; int arguments are ids, str arguments are part of the pattern."""
    if not all(isinstance(arg, str) or (isinstance(arg, int) and not isinstance(arg, bool) and arg >= 0)
               for arg in args):
        return reverse(view_name, args=args)  # anything else (None, -1…): reverse's own checks and errors
    pattern_args = tuple(None if isinstance(arg, int) else arg for arg in args)
    url_format = _url_format(view_name, get_script_prefix(), pattern_args)
    return url_format.format(*args)
