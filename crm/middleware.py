import logging

from django.conf import settings
from django.contrib.auth import logout
from django.utils import timezone

from crm.models import ShopSettings

log = logging.getLogger(__name__)
access_log = logging.getLogger("rapport.access")


class ShopTimezoneMiddleware:
    """Show every page in the shop's time zone; storage stays UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with ShopSettings.for_request() as shop:
            request.shop = shop
            timezone.activate(shop.tz)
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()


class IdleSessionTimeoutMiddleware:
    """Log out a session that has not been used for SESSION_IDLE_TIMEOUT seconds (default 8 hours).

    The last use is kept in the session and written at most once a minute, so a busy counter
    does not write its session on every request.
    """

    KEY = "rapport_last_seen"
    WRITE_EVERY = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(timezone.now().timestamp())  # through Django's clock, so tests can move it
            last_seen = request.session.get(self.KEY)
            if isinstance(last_seen, int) and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                log.info("Session of user %s ended after %s s idle", request.user.pk, now - last_seen)
                logout(request)
            elif not isinstance(last_seen, int) or now - last_seen >= self.WRITE_EVERY:
                request.session[self.KEY] = now
        return self.get_response(request)


class NoStoreForLoggedInMiddleware:
    """`Cache-Control: no-store` on every page a logged-in person sees (customers' details, exports).

    A shared counter PC's browser cache, or a proxy, must not keep them after logout.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store"
        return response


class LogClientErrorsMiddleware:
    """One log line for every 403 and 404: who, what, and the reason given, to spot probing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code in (403, 404):
            user = getattr(request, "user", None)
            who = f"user {user.pk}" if user is not None and user.is_authenticated else "anonymous"
            access_log.warning(
                "%s %s %s by %s from %s",
                response.status_code,
                request.method,
                request.path[:200],
                who,
                request.META.get("REMOTE_ADDR", "-"),
            )
        return response


def idle_clock_start(sender, request, user, **kwargs) -> None:
    """At login the idle clock starts: the first page after it has no session to write."""
    if request is not None and hasattr(request, "session"):
        request.session[IdleSessionTimeoutMiddleware.KEY] = int(timezone.now().timestamp())
