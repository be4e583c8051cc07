"""Rate limits on guessable things (gift codes, signed public links), counted in the shared cache.

The counters live in the default cache (Redis with REDIS_URL, else the database cache table), so
every web process counts together. The rates are settings (RATELIMIT_GIFT_CODES, RATELIMIT_PUBLIC_PAGES).
"""

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import is_ratelimited

from crm.errors import _page

log = logging.getLogger(__name__)


def _user_or_ip(group: str, request: HttpRequest) -> str:
    if request.user.is_authenticated:
        return f"u:{request.user.pk}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


def rate_limited(
    *,
    group: str,
    rate_setting: str,
    methods: tuple[str, ...] = ("GET", "POST"),
    when: Callable[[HttpRequest], bool] | None = None,
) -> Callable:
    """Answer 429, with the reason, once a user (or an address, when logged out) goes over the rate.

    `when` picks the requests that count (e.g. only those that look a code up).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            rate = getattr(settings, rate_setting)
            counts = request.method in methods and (when is None or when(request))
            if counts and is_ratelimited(
                request, group=group, key=_user_or_ip, rate=rate, method=list(methods), increment=True
            ):
                log.warning("Rate limit %s (%s) reached by %s", group, rate, _user_or_ip(group, request))
                return too_many_requests(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def too_many_requests(request: HttpRequest) -> HttpResponse:
    response = _page("400.html", 429, request, reason="Too many tries in a short time. Wait a minute and try again.")
    response["Retry-After"] = "60"
    return response
