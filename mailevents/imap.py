"""Polling a plain mailbox for replies over IMAP (standard library imaplib).

Each new message is stored (inbound_store, keyed by its Message-ID) before it is flagged \\Seen:
a worker that dies in between fetches it again next time, and the key makes that a no-op.
"""

import imaplib
import logging
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mailevents.services import inbound_store

log = logging.getLogger(__name__)
FETCH_LIMIT = 100  # per poll; the rest wait for the next minute


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    password: str
    mailbox: str
    ssl: bool

    @classmethod
    def from_url(cls, url: str) -> "ImapSettings":
        """imaps://user:password@host:993/INBOX (or imap:// for a server without TLS, such as one on localhost)."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("IMAP_URL must look like imaps://user:password@host:993/INBOX")
        ssl = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if ssl else 143),
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            mailbox=unquote(parts.path.strip("/")) or "INBOX",
            ssl=ssl,
        )


def imap_poll(*, url: str, timeout: float = 30) -> int:
    """Store every unseen message in the mailbox as a reply to process; returns how many were new."""
    conf = ImapSettings.from_url(url)
    client: imaplib.IMAP4 = (
        imaplib.IMAP4_SSL(conf.host, conf.port, timeout=timeout)
        if conf.ssl
        else imaplib.IMAP4(conf.host, conf.port, timeout=timeout)
    )
    stored = 0
    try:
        client.login(conf.user, conf.password)
        client.select(conf.mailbox)
        _, found = client.uid("search", "UNSEEN")
        for uid in (found[0] or b"").decode().split()[:FETCH_LIMIT]:
            _, parts = client.uid("fetch", uid, "(BODY.PEEK[])")
            raw = next((part[1] for part in parts if isinstance(part, tuple)), None)
            if raw is None:
                log.warning("IMAP: message %s came back empty", uid)
                continue
            if inbound_store(source="imap", raw=raw) is not None:
                stored += 1
            client.uid("store", uid, "+FLAGS", "(\\Seen)")
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            log.warning("IMAP logout failed", exc_info=True)
    return stored
