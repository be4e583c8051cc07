"""Every hostile payload in every placeholder of every kind of email: no markup, no script link, one-line subject.

The payloads go where a customer (through the profile link) or an import can put them: their preferred
name and a favourite product (and what they bought, in a thank-you note); the shop's name for
{shop_name}; a gift code's code for {gift_code}. Each kind is built as the sender builds it
(automations, newsletter, event), and the newsletter also as its preview and its test email.

Every placeholder in automations.templating.PLACEHOLDERS is covered, and where its value can come
from a person it gets the payloads:
- {preferred_name}, {favourite_product}, {shop_name}: free text (the customer, an import, the owner).
- {gift_code}: gifts.services draws it from CODE_ALPHABET, but the Django admin edits GiftCode.code as
  free text (the field has no validator), so anything of up to CODE_LENGTH (8) characters can be there.
- {gift_expiry}: not user-controlled as text. It is GiftCode.expires_on (a date) formatted by Django
  ("j F Y": digits and a month name); a person picks the date, never the words. It is still in every
  template that may carry it, beside the hostile values.
Newsletters refuse {gift_code} and {gift_expiry} on save and event emails have no placeholders (their
title, place and description get the payloads instead).

The HTML part must make no markup or script link from them; the text part must show each payload as
the literal text it was (not escaped, not decoded into a `javascript:` link); the headers must stay
the ones we set (one recipient, no Bcc, a one-line subject).
"""

import re
from collections.abc import Iterable
from email import message_from_bytes
from email.policy import default as email_policy
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from automations.emails import email_build
from automations.models import OutboundMessage
from automations.services import message_template_update
from automations.templating import CODE_KINDS, DEFAULT_TEMPLATES
from crm.models import ShopSettings
from gifts.models import CODE_LENGTH
from tests.factories import (
    CustomerFactory,
    EventFactory,
    GiftCodeFactory,
    InvitationFactory,
    NewsletterFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db

PAYLOADS = {
    "javascript": "javascript:alert(document.domain)",
    "javascript_mixed_case": " JaVaScRiPt:alert(1)",
    "javascript_entity": "javascript&#58;alert(1)",
    "data_url": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript": "vbscript:msgbox(1)",
    "script_tag": "<script>alert(1)</script>",
    "img_onerror": '"><img src=x onerror=alert(1)>',
    "attribute_breakout": '" onmouseover="alert(1)',
    "single_quote_breakout": "' onclick='alert(1)",
    "style_tag": "<style>body{display:none}</style>",
    "iframe": "<iframe src=//evil.example></iframe>",
    "markdown_link": "[click](javascript:alert(1))",
    "placeholder_in_value": "{gift_code}{shop_name}",
    "crlf_header": "Ann\r\nBcc: victim@evil.example",
    "unicode_line_separator": "Ann\u2028Bcc: victim@evil.example",
}
ALLOWED_SCHEMES = ("http", "https", "mailto")
# Templates that put every placeholder in a link, an attribute and the text.
HREF_HTML = (
    '<p><a href="{preferred_name}">a</a> <a href="{favourite_product}">b</a> <a href="{shop_name}">c</a> '
    '<span title="{preferred_name}">{preferred_name} {favourite_product} {shop_name}</span></p>'
)
# The same with the gift placeholders, for the kinds that carry a code (the others refuse them on save).
GIFT_HREF_HTML = HREF_HTML + (
    '<p><a href="{gift_code}">d</a> <a href="{gift_expiry}">e</a> '
    '<span title="{gift_code} {gift_expiry}">{gift_code} until {gift_expiry}</span></p>'
)
NEWSLETTER_BODY = (
    "Hi {preferred_name}! [page]({preferred_name}) [fav]({favourite_product}) [shop]({shop_name})\n\n"
    '<a href="{preferred_name}">raw</a> {favourite_product} from {shop_name}'
)


class _Tags(HTMLParser):
    """Every tag and attribute a mail client would see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, attrs))


def assert_no_markup_from_payload(html: str, text: str, subject: str) -> None:
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("script", "img", "iframe", "style", "object", "embed", "form", "svg"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if name in ("href", "src", "action", "formaction"):
                # As a browser reads it: entities decoded (convert_charrefs), spaces and case ignored.
                url = re.sub(r"[\x00-\x20]", "", (value or "").lower())
                scheme = re.match(r"([a-z][a-z0-9+.\-]*):", url)
                assert scheme is None or scheme.group(1) in ALLOWED_SCHEMES, (tag, name, value)
    for line_break in ("\n", "\r", "\u2028"):
        assert line_break not in subject, repr(subject)


def assert_text_shows_payload_as_typed(text: str, literals: Iterable[str]) -> None:
    """The text part is plain text: each payload is in it exactly as it was typed, and once those are taken
    out nothing is left that a mail client could follow as a script link or read as markup or escaping."""
    literals = sorted({literal for literal in literals if literal}, key=len, reverse=True)
    assert any(literal in text for literal in literals), ("the payload is not in the text part as typed", text)
    rest = text
    for literal in literals:
        rest = rest.replace(literal, "")
    # As a client would read a link: spaces, control characters and case ignored.
    squeezed = re.sub(r"[\x00-\x20]", "", rest.lower())
    for scheme in ("javascript:", "vbscript:", "data:", "javascript&#58;"):
        assert scheme not in squeezed, (scheme, text)
    # Not escaped for HTML (the reader would see "&lt;"), nor a tag made from a payload.
    assert not re.search(r"&(?:[a-z]+|#[0-9]+|#x[0-9a-f]+);", rest, re.IGNORECASE), text
    assert not re.search(r"<\s*(?:script|img|iframe|style|svg|object|embed)\b", rest, re.IGNORECASE), text


def assert_headers_are_ours(email, to: str) -> None:
    """Serialised and read back as a mail server would: one recipient, no Bcc or Cc, a one-line subject.

    A long subject is folded onto continuation lines (a line break then a space); reading it back with the
    default policy unfolds it, so a line break left in the subject is one a payload put there."""
    assert email.recipients() == [to]
    parsed = message_from_bytes(email.message().as_bytes(), policy=email_policy)
    for part in parsed.walk():
        names = {name.lower() for name in part.keys()}
        assert not names & {"bcc", "cc"}, names
    assert str(parsed["To"]) == to
    assert not re.search(r"[\r\n\u2028\u2029]", str(parsed["Subject"])), repr(parsed["Subject"])


def _hostile_customer(payload: str):
    customer = CustomerFactory(first_name="Ann", preferred_name=payload[:100])
    customer.favourite_products.add(ProductFactory(name=payload[:120]))
    return customer


def _shop_named(payload: str) -> None:
    shop = ShopSettings.load()
    shop.name = payload[:120]
    shop.save()


def _hostile_gift(customer, payload: str):
    """A gift code as the admin could have typed it (see the module docstring).

    One character short of CODE_LENGTH: display_code splits a full-length code in two with a hyphen
    ("<scr-ipt>"), which would blunt most payloads; a shorter code is shown exactly as typed.
    """
    return GiftCodeFactory(customer=customer, code=payload[: CODE_LENGTH - 1])


def _check_email(email, to: str, literals: Iterable[str]) -> None:
    assert_no_markup_from_payload(email.alternatives[0][0], email.body, email.subject)
    assert_text_shows_payload_as_typed(email.body, literals)
    assert_headers_are_ours(email, to)


def _literals(payload: str) -> list[str]:
    """The payload as each field stores it (cut to the field's length)."""
    return [payload[:100], payload[:120]]


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("kind", sorted(DEFAULT_TEMPLATES))
def test_no_payload_makes_markup_in_an_automation_email(owner, kind, payload):
    _shop_named(payload)
    customer = _hostile_customer(payload)
    literals = _literals(payload)
    subject_and_text = "{preferred_name} {favourite_product} {shop_name}"
    body_html = HREF_HTML
    # What a thank-you note says they bought (product names, read by the planner from the touchpoint).
    context: dict[str, object] = {"products": [payload[:120], "Tea"]}
    if kind in CODE_KINDS:
        gift = _hostile_gift(customer, payload)
        subject_and_text += " {gift_code} {gift_expiry}"
        body_html = GIFT_HREF_HTML
        context["gift_code_id"] = gift.pk
        literals.append(gift.display_code)
    message_template_update(
        kind=kind, updated_by=owner, subject=subject_and_text, body_text=subject_and_text, body_html=body_html
    )
    message = OutboundMessage.objects.create(
        customer=customer,
        recipient_key=f"c:{customer.pk}",
        kind=kind,
        occasion_key=f"{kind}:x",
        planned_at=timezone.now(),
        to_email=customer.email,
        context=context,
        personal_line=payload,  # the line staff may add in the review queue
    )
    email = email_build(message)
    _check_email(email, customer.email, [*literals, payload])
    if kind in CODE_KINDS:
        assert gift.display_code in email.body  # the hostile code really went into the email


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_no_payload_makes_markup_in_a_newsletter_its_preview_or_its_test(owner_client, owner, payload):
    _shop_named(payload)
    customer = _hostile_customer(payload)
    newsletter = NewsletterFactory(
        subject="News {preferred_name} {favourite_product} {shop_name}", body=NEWSLETTER_BODY
    )
    message = OutboundMessage.objects.create(
        customer=customer,
        recipient_key=f"c:{customer.pk}",
        kind="newsletter",
        occasion_key=newsletter.occasion_key,
        planned_at=timezone.now(),
        to_email=customer.email,
        context={"newsletter_id": newsletter.pk},
    )
    _check_email(email_build(message), customer.email, _literals(payload))

    page = owner_client.get(reverse("community:newsletter_detail", args=[newsletter.pk]), {"customer": customer.pk})
    assert page.status_code == 200
    preview = page.content.decode().split('data-testid="preview-body">', 1)[1].split("</div>", 1)[0]
    assert_no_markup_from_payload(preview, "", "")

    owner_client.post(reverse("community:newsletter_test", args=[newsletter.pk]), {"customer": customer.pk})
    sent = mail.outbox[-1]
    _check_email(sent, owner.email, _literals(payload))


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("kind", ["event_invitation", "event_reminder", "event_place"])
def test_no_payload_makes_markup_in_an_event_email(kind, payload):
    _shop_named(payload)
    customer = _hostile_customer(payload)
    event = EventFactory(
        title=" ".join(payload.split())[:150], description=payload, place=" ".join(payload.split())[:200]
    )
    invitation = InvitationFactory(event=event, customer=customer)
    message = OutboundMessage.objects.create(
        customer=customer,
        recipient_key=f"c:{customer.pk}",
        kind=kind,
        occasion_key=f"{kind}:{event.pk}",
        planned_at=timezone.now(),
        to_email=customer.email,
        context={"event_id": event.pk, "invitation_id": invitation.pk},
    )
    literals = [*_literals(payload), payload, event.title, event.place]
    _check_email(email_build(message), customer.email, literals)


def test_the_automation_preview_shows_no_script_link(owner_client, owner):
    customer = _hostile_customer(PAYLOADS["javascript"])
    response = owner_client.post(
        reverse("automations:template_preview", args=["thankyou"]),
        {"subject": "Hi {preferred_name}", "body_text": "Hi", "body_html": HREF_HTML, "customer": customer.pk},
    )
    assert response.status_code == 200
    assert 'href="javascript' not in response.content.decode().lower()
