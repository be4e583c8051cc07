"""Friendly error pages in the shop's look, and a 503 when the database is unreachable.

The templates are rendered without context processors: an error page must not need
the database (the shop settings, the session) that may be the cause of the error.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token

log = logging.getLogger(__name__)


MESSAGES = {
    400: "Bad request.",
    403: "You may not do this.",
    404: "There is nothing at this address.",
    500: "Something went wrong on our side.",
    503: "The database is unavailable; try again shortly.",
}


def _json(request, status: int) -> HttpResponse | None:
    """Under /api/ the error in the JSON API's body (documented in api/errors.py), not a page."""
    if request is None or not request.path.startswith("/api/"):
        return None
    body = {
        "error": {
            "status": status,
            "code": {404: "not_found", 503: "unavailable"}.get(status, "error"),
            "message": MESSAGES[status],
            "fields": {},
        }
    }
    return JsonResponse(body, status=status, headers={"Retry-After": "30"} if status == 503 else None)


def _page(template: str, status: int, request=None, **context) -> HttpResponse:
    api_answer = _json(request, status)
    if api_answer is not None:
        return api_answer
    html = None
    if request is not None:
        # With the request the page shows the menu; fall back to a bare page if that fails.
        try:
            html = render_to_string(template, context, request=request)
        except Exception:  # noqa: BLE001 - an error page must always render
            log.exception("Error page %s failed with the request context", template)
    if html is None:
        html = render_to_string(template, context)
    response = HttpResponse(html, status=status)
    if status == 503:
        response["Retry-After"] = "30"
    return response


def database_unavailable(exc: BaseException | None) -> bool:
    """True for "cannot reach PostgreSQL" errors (connection refused, closed, reset)."""
    while exc is not None:
        if isinstance(exc, (OperationalError, InterfaceError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@requires_csrf_token
def server_error(request, *args, **kwargs) -> HttpResponse:
    """500, or a friendly 503 when the database is down (Django calls this inside the except)."""
    if database_unavailable(sys.exc_info()[1]):
        log.warning("Database unavailable; answered 503 for %s", request.path)
        return _json(request, 503) or _page("503.html", 503)
    return _json(request, 500) or _page("500.html", 500)


def bad_request_reason(exception: BaseException | None) -> str:
    """Words for why Django refused a request before any view saw it: every 400 says why."""
    from django.core.exceptions import (
        RequestDataTooBig,
        TooManyFieldsSent,
        TooManyFilesSent,
    )
    from django.http.multipartparser import MultiPartParserError

    if isinstance(exception, MultiPartParserError):
        return (
            "The upload could not be read. A file name longer than 255 characters does this: rename the "
            "file to a shorter name and send it again."
        )
    if isinstance(exception, RequestDataTooBig):
        return "What was sent is larger than a form accepts. Send a smaller file or less text."
    if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
        return "The form sent more fields or files than it accepts."
    return "The request was not one this site can read (a broken link, or a form from an old page)."


def bad_request(request, exception=None, *args, **kwargs) -> HttpResponse:
    return _json(request, 400) or _page("400.html", 400, reason=bad_request_reason(exception))


def permission_denied(request, exception=None, *args, **kwargs) -> HttpResponse:
    return _page("403.html", 403, request, reason=str(exception or ""))


def page_not_found(request, exception=None, *args, **kwargs) -> HttpResponse:
    return _page("404.html", 404, request)


def csrf_failure(request, reason: str = "", *args, **kwargs) -> HttpResponse:
    """A form sent without a valid CSRF token: usually an expired page or blocked cookies."""
    return _page(
        "400.html",
        400,
        reason="This form had expired or your browser blocked its cookie. Go back, reload the page and send it again.",
    )
