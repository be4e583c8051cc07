"""A real SMTP relay (aiosmtpd) that misbehaves on demand, for the outbox fault tests and bench/outbox_faults.py.

Modes, switchable while it runs, from any thread:
- down():    the port is closed, connections are refused;
- tempfail:  every session gets "451" to MAIL FROM (a server under load, greylisting the world);
- refuse:    listed recipients get "550" at RCPT (no such mailbox), for good;
- greylist:  listed recipients get "450" at RCPT for their next n tries (a per-recipient 4xx);
- slow_next: the next n messages are stored, then answered only after `slow_delay` seconds,
             after the client's timeout (the "lost 250").
"""

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes


@dataclass
class FaultRelay:
    port: int
    host: str = "127.0.0.1"
    tempfail: bool = False
    refuse: set = field(default_factory=set)
    greylist: dict = field(default_factory=dict)  # address → how many more 450s
    slow_next: int = 0
    slow_delay: float = 4.0
    # Called (in the relay's thread) with the Message-ID just before a message is stored.
    on_data: Callable[[str], None] | None = None
    received: list = field(default_factory=list)  # (Message-ID, recipient)
    answered: Counter = field(default_factory=Counter)  # reply class → count, for the bench's table
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: object = None

    # --- aiosmtpd hooks ---------------------------------------------------------------

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            if self.tempfail:
                self.answered["451 MAIL"] += 1
                return "451 4.3.2 System busy, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            if address in self.refuse:
                self.answered["550 RCPT"] += 1
                return "550 5.1.1 No such mailbox here"
            if self.greylist.get(address, 0) > 0:
                self.greylist[address] -= 1
                self.answered["450 RCPT"] += 1
                return "450 4.2.0 Greylisted, come back later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        message_id = message["Message-ID"]
        if self.on_data:
            self.on_data(message_id)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((message_id, rcpt))
            slow = self.slow_next > 0
            if slow:
                self.slow_next -= 1
                self.answered["slow 250"] += 1
        if slow:
            await asyncio.sleep(self.slow_delay)  # stored, but the client has given up waiting
        return "250 OK"

    # --- control --------------------------------------------------------------------------

    def up(self) -> None:
        import logging

        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line at INFO
        if self._controller is None:
            self._controller = Controller(self, hostname=self.host, port=self.port)
            self._controller.start()

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def is_up(self) -> bool:
        return self._controller is not None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def counts(self) -> Counter:
        """How many times each Message-ID arrived."""
        with self.lock:
            return Counter(message_id for message_id, _ in self.received)
