"""Request guards that protect every view, whoever wrote it."""

from django.http import HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string


class RejectNullBytesMiddleware:
    """Answer 400 to a query string holding a NUL byte.

    PostgreSQL refuses NUL in text, so a search for "a\\x00b" would otherwise end in a
    500 inside whichever view passed it to the ORM. Form fields (POST) are checked
    per field by Django's CharField, which rejects NUL with a message next to the field.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            reason = "The address holds a character that cannot be used (a null byte). Remove it and try again."
            if request.path.startswith("/api/"):
                # The JSON API's error body (its shape is documented in api/errors.py).
                return JsonResponse(
                    {"error": {"status": 400, "code": "invalid", "message": reason, "fields": {}}}, status=400
                )
            html = render_to_string(
                "400.html",
                {"reason": "The address holds a character that cannot be used (a null byte). Remove it and try again."},
            )
            return HttpResponseBadRequest(html)
        return self.get_response(request)
