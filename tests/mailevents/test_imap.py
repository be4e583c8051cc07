"""The IMAP poll against a real IMAP server (pymap, started here as its own process on a free port)."""

import imaplib
import importlib.util
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from automations.links import reply_address
from customers.models import FollowUp
from mailevents.imap import ImapSettings
from mailevents.models import InboundMail
from mailevents.tasks import imap_poll_task
from tests.conftest import skip_or_fail
from tests.factories import CustomerFactory, StaffFactory
from tests.integration.conftest import free_port
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db
USER, PASSWORD = "replies", "imap-test-password"


@pytest.fixture
def imap_server():
    """pymap's in-memory backend: a real IMAP4rev1 server, gone when the test ends."""
    if importlib.util.find_spec("pymap") is None:
        skip_or_fail("pymap is not installed (requirements-dev.txt)")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pymap.main import main; sys.exit(main())",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-tls",
            "dict",
            "--demo-user",
            USER,
            "--demo-password",
            PASSWORD,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            imaplib.IMAP4("127.0.0.1", port, timeout=2).logout()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"pymap did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    yield f"imap://{USER}:{PASSWORD}@127.0.0.1:{port}/INBOX"
    process.terminate()
    process.wait(10)


def deliver(url: str, *messages: bytes) -> None:
    """Put messages in the mailbox as a mail server would (IMAP APPEND, unseen)."""
    conf = ImapSettings.from_url(url)
    client = imaplib.IMAP4(conf.host, conf.port)
    client.login(conf.user, conf.password)
    for raw in messages:
        client.append(conf.mailbox, None, None, raw)
    client.logout()


def unseen(url: str) -> int:
    conf = ImapSettings.from_url(url)
    client = imaplib.IMAP4(conf.host, conf.port)
    client.login(conf.user, conf.password)
    client.select(conf.mailbox)
    _, found = client.uid("search", None, "UNSEEN")
    client.logout()
    return len((found[0] or b"").split())


def mail(*, to: str, subject: str, body: str, message_id: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ada Lovelace <ada.private@home.example>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Tue, 15 Jun 2027 12:03:00 +0100"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def test_the_imap_poll_turns_a_reply_into_a_touchpoint_and_ignores_an_out_of_office(
    imap_server, settings, django_capture_on_commit_callbacks
):
    settings.IMAP_URL = imap_server
    owner = StaffFactory()
    ada = CustomerFactory(first_name="Ada", preferred_name="", owner=owner, email="ada@example.com")
    tagged = reply_address(customer_id=ada.pk)
    reply = mail(
        to=tagged,
        subject="Re: Thank you",
        message_id="<reply-1@home.example>",
        body="Thank you, see you Saturday!\n\nOn Mon, Rapport wrote:\n> Thanks for coming in",
    )
    away = mail(
        to=tagged,
        subject="Automatic reply: Thank you",
        message_id="<ooo-1@home.example>",
        body="I am away until Monday.",
        Auto_Submitted="auto-replied",
        X_Autoreply="yes",
    )
    deliver(imap_server, reply, away)

    with django_capture_on_commit_callbacks(execute=True):
        assert imap_poll_task.delay().get() == 2

    # The reply is on Ada's card, quoted text gone; the owner has a follow-up on My day.
    touchpoint = Touchpoint.objects.get()
    assert (touchpoint.customer, touchpoint.kind) == (ada, "reply")
    assert "see you Saturday" in touchpoint.note and "Thanks for coming in" not in touchpoint.note
    assert FollowUp.objects.get(customer=ada).assignee == owner
    # The out-of-office was read and kept, but not logged.
    assert InboundMail.objects.get(subject__startswith="Automatic").status == "auto_reply"
    assert unseen(imap_server) == 0

    # The next poll finds nothing new, and logs nothing twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert imap_poll_task.delay().get() == 0
    assert Touchpoint.objects.count() == 1


def test_a_message_fetched_again_after_a_crash_is_not_logged_twice(imap_server, django_capture_on_commit_callbacks):
    """The worker stored the reply but died before flagging it \\Seen: the next poll sees it again."""
    from mailevents.imap import imap_poll

    ada = CustomerFactory()
    raw = mail(to=reply_address(customer_id=ada.pk), subject="Re: hi", body="Yes!", message_id="<again@x>")
    deliver(imap_server, raw)
    with django_capture_on_commit_callbacks(execute=True):
        from mailevents.services import inbound_store

        inbound_store(source="imap", raw=raw)  # what the dead worker managed

        assert imap_poll(url=imap_server) == 0

    assert Touchpoint.objects.filter(customer=ada).count() == 1
    assert unseen(imap_server) == 0


def test_without_an_imap_url_the_poll_does_nothing(settings):
    settings.IMAP_URL = ""
    assert imap_poll_task.delay().get() == 0


def test_a_wrong_imap_url_is_a_clear_error():
    with pytest.raises(ValueError, match="IMAP_URL must look like"):
        ImapSettings.from_url("pop3://mail.example")
