"""Idempotency-Key on POST: the same key and body answer the first result; another body is a 409."""

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.errors import Conflict
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(method):
    """Wrap a view's post(): its first successful answer is kept per (key, Idempotency-Key) for a day.

    The record is inserted in the same transaction as the work: a second request with the same key
    that arrives meanwhile waits on the unique index (PostgreSQL), then replays the stored answer.
    Errors are not kept: the client may fix the body and retry with the same key.
    """

    @wraps(method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "")
        if not key:
            return method(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
            raise ValidationError({HEADER: [f"Use printable ASCII, at most {MAX_KEY_LENGTH} characters."]})
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(api_key=request.auth, key=key, fingerprint=fingerprint)
            except IntegrityError:
                record = IdempotencyRecord.objects.get(api_key=request.auth, key=key)
                if record.fingerprint != fingerprint:
                    raise Conflict()
                return Response(
                    record.response_body, status=record.status_code, headers={"Idempotent-Replayed": "true"}
                )
            response = method(self, request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
                return response
            record.status_code, record.response_body = response.status_code, response.data
            record.save(update_fields=["status_code", "response_body"])
            return response

    return wrapper
