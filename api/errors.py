"""One error body for every API failure: {"error": {"status", "code", "message", "fields"}}.

`fields` holds field errors as the pages' forms give them: {"email": ["Another customer already has
this email address."]}; errors about the whole request are under "__all__", as in Django forms.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

NON_FIELD = "__all__"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "This Idempotency-Key was used with another request."


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flatten(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _flatten(value)]
    return [str(detail)]


def field_errors(detail) -> dict[str, list[str]]:
    """DRF's or Django's error detail as {field: [messages]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for name, value in detail.items():
            key = NON_FIELD if name in ("non_field_errors", NON_FIELD) else str(name)
            out.setdefault(key, []).extend(_flatten(value))
        return out
    return {NON_FIELD: _flatten(detail)}


def error_body(*, http_status: int, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"status": http_status, "code": code, "message": message, "fields": fields or {}}}


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        # A service's ValidationError: the same messages the pages show, keyed by field.
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handling (logged), never hidden
    if isinstance(exc, exceptions.ValidationError):
        fields = field_errors(exc.detail)
        message = "Please check the fields; nothing was saved."
        code = "invalid"
    else:
        fields = {}
        message = " ".join(_flatten(exc.detail)) if hasattr(exc, "detail") else str(exc)
        code = getattr(exc, "default_code", "error")
        if hasattr(exc, "get_codes") and isinstance(exc.get_codes(), str):
            code = exc.get_codes()
    response.data = error_body(http_status=response.status_code, code=code, message=message, fields=fields)
    return response
