"""How newsletters and event emails become emails; registered with automations.rendering in ready().

The owner's Markdown is rendered to HTML and cleaned by nh3, placeholders are filled in as
escaped text, and the result is cleaned again (automations.templating.fill_html), so neither
the owner's text nor a customer's name can put markup or a `javascript:` link into an email.
"""

import re

import markdown
from django.template.loader import render_to_string
from django.utils import formats, timezone

from automations.emails import placeholder_values as automation_placeholder_values
from automations.rendering import RenderedEmail
from automations.templating import TOKEN, fill_html, header_line, html_clean, text_to_html
from automations.templating import placeholder_errors as automation_placeholder_errors
from community.ics import event_ics
from community.links import rsvp_url
from community.models import Event, Invitation, Newsletter
from crm.models import ShopSettings
from customers.models import Customer

IMG_TAG = re.compile(r"<img\b", re.IGNORECASE)
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "a",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "hr",
    "code",
    "pre",
}


def placeholder_errors(text: str) -> list[str]:
    """A message per unknown placeholder; a newsletter carries no gift code, so those are refused too."""
    return automation_placeholder_errors(text, allow_gift=False)


def placeholder_values(*, customer: Customer | None, shop: ShopSettings) -> dict[str, str]:
    """The same values as the automations give; "there" when previewing for nobody in particular."""
    if customer is None:
        return {"preferred_name": "there", "favourite_product": "favourites", "shop_name": shop.name}
    return automation_placeholder_values(customer=customer, message=None, shop=shop)


def fill(template: str, values: dict[str, str]) -> str:
    """Replace {name} with its value in plain text; unknown {words} stay as typed."""
    return TOKEN.sub(lambda match: values.get(match.group(1).strip(), match.group(0)), template)


def markdown_to_html(body: str) -> str:
    """Markdown to HTML with only harmless tags left (no scripts, styles, event handlers or images)."""
    return html_clean(markdown.markdown(body, extensions=["sane_lists", "nl2br"]), tags=ALLOWED_TAGS)


def dropped_images(body: str) -> int:
    """How many images the Markdown holds: emails carry none (they are dropped), so the owner is told."""
    raw = markdown.markdown(body, extensions=["sane_lists", "nl2br"])
    return len(IMG_TAG.findall(raw))


def newsletter_render_for(*, newsletter: Newsletter, customer: Customer | None) -> RenderedEmail:
    """The newsletter as this customer will get it (the sender adds footer and links)."""
    values = placeholder_values(customer=customer, shop=ShopSettings.load())
    return RenderedEmail(
        subject=header_line(fill(newsletter.subject, values)),
        text=fill(newsletter.body, values),
        html=fill_html(markdown_to_html(newsletter.body), values, tags=ALLOWED_TAGS, strict=False),
    )


def render_newsletter(message) -> RenderedEmail:
    """Renderer for kind "newsletter"."""
    newsletter = Newsletter.objects.get(pk=message.context["newsletter_id"])
    return newsletter_render_for(newsletter=newsletter, customer=message.customer)


def _event_context(event: Event, invitation: Invitation | None, customer: Customer | None) -> dict:
    shop = ShopSettings.load()
    tz = shop.tz
    with timezone.override(tz):
        starts, ends = timezone.localtime(event.starts_at), timezone.localtime(event.ends_at)
    return {
        "event": event,
        "shop": shop,
        "name": customer.display_name if customer else "",
        "when": f"{formats.date_format(starts, 'l j F Y')}, {starts:%H:%M}–{ends:%H:%M}"
        if starts.date() == ends.date()
        else f"{formats.date_format(starts, 'l j F Y')} {starts:%H:%M} – {formats.date_format(ends, 'l j F Y')} {ends:%H:%M}",
        "rsvp_url": rsvp_url(invitation_id=invitation.pk) if invitation else "",
        "invitation": invitation,
    }


def _event_email(message, template: str, subject: str, with_ics: bool) -> RenderedEmail:
    event = Event.objects.get(pk=message.context["event_id"])
    invitation = Invitation.objects.filter(pk=message.context.get("invitation_id")).first()
    ctx = _event_context(event, invitation, message.customer)
    attachments = []
    if with_ics:
        attachments.append(("event.ics", event_ics(event=event, tz=ctx["shop"].tz), "text/calendar"))
    return RenderedEmail(
        subject=header_line(subject.format(title=event.title)),
        text=render_to_string(f"community/emails/{template}.txt", ctx),
        html=render_to_string(f"community/emails/{template}.html", ctx),
        attachments=attachments,
    )


def render_event_invitation(message) -> RenderedEmail:
    """Renderer for kind "event_invitation": the event and a signed link to answer."""
    return _event_email(message, "event_invitation", "You're invited: {title}", with_ics=False)


def render_event_reminder(message) -> RenderedEmail:
    """Renderer for kind "event_reminder": see you tomorrow, with an .ics for the calendar."""
    return _event_email(message, "event_reminder", "See you tomorrow: {title}", with_ics=True)


def render_event_place(message) -> RenderedEmail:
    """Renderer for kind "event_place": someone cancelled, so the first in line now has a place."""
    return _event_email(message, "event_place", "Good news: there's a place for you at {title}", with_ics=True)


def render_profile_confirm(message) -> RenderedEmail:
    """Renderer for kind "profile_confirm": the link that makes an email or consent change real."""
    from automations.links import profile_confirm_url

    shop = ShopSettings.load()
    url = profile_confirm_url(token=message.context["token"])
    what = message.context.get("what", "a change to your details")
    text = (
        f"Hello,\n\nSomeone (we hope you) asked to make {what} through the “your details” page of "
        f"{shop.name}. To confirm it, open this link:\n\n{url}\n\nIt works once, for a week. "
        "If it wasn't you, ignore this email and nothing changes."
    )
    return RenderedEmail(subject=header_line(f"Please confirm: {what}"), text=text, html=text_to_html(text, link=url))


def render_profile_link(message) -> RenderedEmail:
    """Renderer for kind "profile_link": a fresh "keep your details up to date" link, asked for by the customer."""
    from automations.links import profile_url

    shop = ShopSettings.load()
    url = profile_url(customer_id=message.customer_id)
    text = (
        f"Hello,\n\nHere is a new link to check and correct the details {shop.name} keeps about you:\n\n{url}\n\n"
        "It works for one save. If you didn't ask for it, ignore this email."
    )
    return RenderedEmail(
        subject=header_line(f"Your details at {shop.name}"), text=text, html=text_to_html(text, link=url)
    )
