"""What the outbox needs from a mail provider's API (django-anymail: Postmark, Mailgun, Amazon SES, Brevo,
SendGrid), in the sender's terms (automations.transport): how far a failed send got, and the provider's id.

- every recipient refused (e.g. Postmark's "inactive recipient") → like an SMTP 550: failed, suppressed;
- the API answered with an error (429, 5xx, a bad key) or could not be reached → the service is unwell:
  nothing was taken, the breaker waits and the row is tried again;
- a message the API calls malformed (400/422) → this message only, retried until its window ends;
- no answer after the request went out (a read timeout) → it may have arrived: `unknown`, never resent silently.
"""

from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.core.mail import EmailMessage
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout

from automations.transport import DeliveryError, Stage

PROVIDER_ERRORS: tuple[type[Exception], ...] = (AnymailError,)


def provider_delivery_error(exc: AnymailError) -> DeliveryError:
    """The DeliveryError (stage, SMTP-like code) the sender's rules expect for a provider's error."""
    if isinstance(exc, AnymailRecipientsRefused):
        return DeliveryError(Stage.RECIPIENT, exc, 550)
    if isinstance(exc, AnymailRequestsAPIError):
        status = getattr(exc, "status_code", None)
        if status in (400, 422):
            return DeliveryError(Stage.RECIPIENT, exc)
        if status is not None:
            return DeliveryError(Stage.SESSION, exc)
        cause = exc.__cause__
        if isinstance(cause, ConnectTimeout) or (
            isinstance(cause, RequestsConnectionError) and "timed out" not in str(cause).lower()
        ):
            return DeliveryError(Stage.SESSION, exc)  # never connected: nothing went out
        return DeliveryError(Stage.HANDED_OVER, exc)
    # Refused before any request (an address or feature the provider cannot take): this message only.
    return DeliveryError(Stage.RECIPIENT, exc)


def provider_message_id(email: EmailMessage) -> str:
    """The id the provider gave the sent message (its webhooks name it), or our Message-ID for SMTP."""
    status = getattr(email, "anymail_status", None)
    found = status.message_id if status is not None else None
    if isinstance(found, set):  # one id per recipient; the outbox sends to one
        found = min(found) if found else None
    return str(found or email.extra_headers.get("Message-ID", ""))[:200]
