"""Every hostile payload in every placeholder of every kind of email: no markup, no script link, one-line subject.

The payloads go where a customer (through the profile link) or an import can put them: their preferred
name and a favourite product; the shop's name for {shop_name}. Each kind is built as the sender builds
it (automations, newsletter, event), and the newsletter also as its preview and its test email.
"""

import re
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from automations.emails import email_build
from automations.models import OutboundMessage
from automations.services import message_template_update
from automations.templating import DEFAULT_TEMPLATES
from crm.models import ShopSettings
from tests.factories import (
    CustomerFactory,
    EventFactory,
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
    assert isinstance(text, str)  # the text part is plain text: shown as typed, never as markup


def _hostile_customer(payload: str):
    customer = CustomerFactory(first_name="Ann", preferred_name=payload[:100])
    customer.favourite_products.add(ProductFactory(name=payload[:120]))
    return customer


def _shop_named(payload: str) -> None:
    shop = ShopSettings.load()
    shop.name = payload[:120]
    shop.save()


def _built(message: OutboundMessage) -> tuple[str, str, str]:
    email = email_build(message)
    return email.alternatives[0][0], email.body, email.subject


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("kind", sorted(DEFAULT_TEMPLATES))
def test_no_payload_makes_markup_in_an_automation_email(owner, kind, payload):
    _shop_named(payload)
    customer = _hostile_customer(payload)
    subject_and_text = "{preferred_name} {favourite_product} {shop_name}"
    message_template_update(
        kind=kind, updated_by=owner, subject=subject_and_text, body_text=subject_and_text, body_html=HREF_HTML
    )
    message = OutboundMessage.objects.create(
        customer=customer,
        recipient_key=f"c:{customer.pk}",
        kind=kind,
        occasion_key=f"{kind}:x",
        planned_at=timezone.now(),
        to_email=customer.email,
    )
    html, text, subject = _built(message)
    assert_no_markup_from_payload(html, text, subject)


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
    assert_no_markup_from_payload(*_built(message))

    page = owner_client.get(reverse("community:newsletter_detail", args=[newsletter.pk]), {"customer": customer.pk})
    assert page.status_code == 200
    preview = page.content.decode().split('data-testid="preview-body">', 1)[1].split("</div>", 1)[0]
    assert_no_markup_from_payload(preview, "", "")

    owner_client.post(reverse("community:newsletter_test", args=[newsletter.pk]), {"customer": customer.pk})
    sent = mail.outbox[-1]
    assert_no_markup_from_payload(sent.alternatives[0][0], sent.body, sent.subject)


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
    assert_no_markup_from_payload(*_built(message))


def test_the_automation_preview_shows_no_script_link(owner_client, owner):
    customer = _hostile_customer(PAYLOADS["javascript"])
    response = owner_client.post(
        reverse("automations:template_preview", args=["thankyou"]),
        {"subject": "Hi {preferred_name}", "body_text": "Hi", "body_html": HREF_HTML, "customer": customer.pk},
    )
    assert response.status_code == 200
    assert 'href="javascript' not in response.content.decode().lower()
