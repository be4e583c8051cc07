"""Handing one email to the mail server, step by step, so the sender knows how far it got.

smtplib's sendmail() does MAIL FROM, RCPT TO and DATA in one call; a failure out of it does not
say whether the server may have the message. Here the steps are separate, and `on_handover`
(which must commit the "handed to the server" mark) runs just before DATA:

- a failure before it (connect, greeting, login, MAIL FROM, RCPT) means nothing was handed over:
  safe to retry;
- after it, an SMTP reply (4xx/5xx) still means "not taken"; no reply at all (timeout, dropped
  connection) means the message may have arrived.
"""

import enum
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address


class Stage(enum.StrEnum):
    SESSION = "session"  # connect, greeting, TLS, login, MAIL FROM: the server as a whole
    RECIPIENT = "recipient"  # RCPT TO, or the reply at the end of DATA: this message only
    HANDED_OVER = "handed_over"  # the body was sent and no reply came: it may have arrived


class DeliveryError(Exception):
    """Delivery failed at `stage`; `code` is the SMTP reply code when the server answered."""

    def __init__(self, stage: Stage, error: Exception, code: int | None = None) -> None:
        super().__init__(str(error))
        self.stage, self.error, self.code = stage, error, code
        # 421 means "closing the session" whatever the step: the server as a whole is unwell.
        if code == 421:
            self.stage = Stage.SESSION

    @property
    def text(self) -> str:
        return f"{self.code} {self.error}" if self.code else f"{type(self.error).__name__}: {self.error}"


class HandoverRefused(Exception):
    """on_handover() said no (the row moved on, or the mark could not be saved): nothing was sent."""


def deliver(email: EmailMessage, *, connection, on_handover: Callable[[], bool]) -> None:
    """Send `email` over `connection` (an open-able Django mail backend); raises DeliveryError or HandoverRefused."""
    if not isinstance(connection, SMTPBackend):
        from automations.providers import PROVIDER_ERRORS, provider_delivery_error  # it imports this module

        # Other backends (files in development, memory in tests, an HTTP provider) have no DATA
        # step to stop before: the mark is written before the call; a provider's API error says how
        # far it got (automations.providers), and any other failure is treated as "may have arrived".
        if not on_handover():
            raise HandoverRefused
        try:
            connection.send_messages([email])
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(Stage.RECIPIENT, exc, exc.smtp_code) from exc
        except PROVIDER_ERRORS as exc:  # django-anymail: its errors say how far the API call got
            raise provider_delivery_error(exc) from exc
        except Exception as exc:  # providers raise their own errors; none of them proves "not sent"
            raise DeliveryError(Stage.HANDED_OVER, exc) from exc
        return
    encoding = email.encoding or settings.DEFAULT_CHARSET
    from_email = sanitize_address(email.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in email.recipients()]
    # As Django's SMTP backend does (its MIME classes take linesep; typeshed's Message does not).
    body = email.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
    smtp: smtplib.SMTP
    for reused in (True, False):
        try:
            # A session kept open from the last message may have been dropped by the server
            # meanwhile: that is no outage, so one fresh connection is tried before saying so.
            reused = reused and not connection.open()
            opened = connection.connection
            if opened is None:  # open() failed silently (a backend made with fail_silently=True)
                raise smtplib.SMTPServerDisconnected("Could not connect to the mail server")
            smtp = opened
            smtp.ehlo_or_helo_if_needed()
            options = [f"size={len(body)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
            code, reply = smtp.mail(from_email, options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, from_email)
            refused = {}
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    refused[recipient] = (code, reply)
            break
        except smtplib.SMTPServerDisconnected as exc:
            connection.close()
            if not reused:
                raise DeliveryError(Stage.SESSION, exc) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(Stage.SESSION, exc, exc.smtp_code) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS/login trouble
            raise DeliveryError(Stage.SESSION, exc) from exc
    if refused:
        _reset(smtp)
        error = smtplib.SMTPRecipientsRefused(refused)
        raise DeliveryError(Stage.RECIPIENT, error, min(code for code, _ in refused.values()))
    if not on_handover():
        _reset(smtp)
        raise HandoverRefused
    try:
        code, reply = smtp.data(body)
    except smtplib.SMTPResponseException as exc:  # the DATA command itself was refused: nothing sent
        raise DeliveryError(Stage.RECIPIENT, exc, exc.smtp_code) from exc
    except (smtplib.SMTPException, OSError) as exc:  # no reply after the body: it may have arrived
        raise DeliveryError(Stage.HANDED_OVER, exc) from exc
    if code != 250:
        _reset(smtp)
        raise DeliveryError(Stage.RECIPIENT, smtplib.SMTPDataError(code, reply), code)


def _reset(smtp: smtplib.SMTP) -> None:
    try:
        smtp.rset()
    except (smtplib.SMTPException, OSError):  # the session is closed after a failure anyway
        pass
