"""What the outbox needs from the mail transport, whichever backend is configured.

SMTP raises smtplib errors that carry a code; django-anymail (Postmark, Mailgun, Amazon SES,
Brevo, SendGrid) raises AnymailError. A provider refusing every recipient counts as a 550
(failed, address suppressed); any other API or network error is temporary and retried, so the
outbox's rules hold with every backend.
"""

import smtplib

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.core.mail import EmailMessage

SEND_ERRORS: tuple[type[Exception], ...] = (smtplib.SMTPException, OSError, AnymailError)


def provider_error_code(exc: Exception) -> int | None:
    """An SMTP-like code for a provider's answer: 550 for refused recipients, else None (temporary)."""
    if isinstance(exc, AnymailRecipientsRefused):
        return 550
    return None


def provider_message_id(email: EmailMessage) -> str:
    """The id the provider gave the sent message (its webhooks name it), or our Message-ID for SMTP."""
    status = getattr(email, "anymail_status", None)
    found = status.message_id if status is not None else None
    if isinstance(found, set):  # one id per recipient; the outbox sends to one
        found = min(found) if found else None
    return str(found or email.extra_headers.get("Message-ID", ""))[:200]
