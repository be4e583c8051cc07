"""How automation messages become emails: the owner's templates, the digest, the shop footer.

Renderers (registered in AutomationsConfig.ready through automations.rendering) give
the content; `email_build` adds the footer, unsubscribe and profile links and headers.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import formats

from automations.links import profile_url, reply_address, unsubscribe_url
from automations.models import OutboundMessage
from automations.rendering import RenderedEmail, register_renderer, renderer_for
from automations.services import template_get
from automations.templating import (
    DEFAULT_TEMPLATES,
    TemplateError,
    fill,
    fill_html,
    header_line,
    text_to_html,
)
from crm.clock import shop_today
from crm.models import ShopSettings
from customers.models import Customer, FollowUp
from gifts.models import GiftCode

NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]")


def placeholder_values(
    *, customer: Customer, message: OutboundMessage | None, shop: ShopSettings, gift: GiftCode | None = None
) -> dict[str, str]:
    """What each placeholder becomes for this customer and message."""
    favourite = next(iter(p.name for p in customer.favourite_products.all()), "")
    if message is not None and message.kind == "thankyou" and message.context.get("products"):
        favourite = _and_join(message.context["products"])
    return {
        "preferred_name": customer.display_name,
        "favourite_product": favourite or "favourites",
        "gift_code": gift.display_code if gift else "",
        "gift_expiry": formats.date_format(gift.expires_on, "j F Y") if gift else "",
        "shop_name": shop.name,
    }


def _and_join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def render_template_for(
    *, kind: str, subject: str, body_text: str, body_html: str, values: dict, personal_line: str = ""
) -> RenderedEmail:
    """Fill a template; TemplateError for an unknown placeholder or a value that is missing."""
    text = fill(body_text, values)
    if personal_line:
        text = f"{text}\n\n{personal_line}"
    if body_html.strip():
        html = fill_html(body_html, values)
        if personal_line:
            html += text_to_html(personal_line)
    else:
        html = text_to_html(text)
    return RenderedEmail(subject=header_line(fill(subject, values)), text=text, html=html)


def gift_for(message: OutboundMessage) -> GiftCode | None:
    gift_id = message.context.get("gift_code_id")
    return GiftCode.objects.select_related("product").filter(pk=gift_id).first() if gift_id else None


def render_automation(message: OutboundMessage) -> RenderedEmail:
    """A customer email from the owner's template for its kind."""
    if message.customer is None:
        raise TemplateError(f"A message of kind “{message.kind}” needs a customer.")
    template = template_get(message.kind)
    shop = ShopSettings.load()
    values = placeholder_values(customer=message.customer, message=message, shop=shop, gift=gift_for(message))
    return render_template_for(
        kind=message.kind,
        subject=template.subject,
        body_text=template.body_text,
        body_html=template.body_html,
        values=values,
        personal_line=message.personal_line,
    )


def digest_context(*, user, today) -> dict:
    """Their follow-ups due, birthdays this week of their customers, their customers drifting away."""
    week = [today + timedelta(days=i) for i in range(7)]
    birthday_q = Q()
    for day in week:
        birthday_q |= Q(birthday_month=day.month, birthday_day=day.day)
    mine = Customer.objects.filter(owner=user, is_archived=False)
    birthdays = sorted(mine.filter(birthday_q), key=lambda c: week.index(_next_in_week(c, week)))
    return {
        "user": user,
        "today": today,
        "followups": list(
            FollowUp.objects.filter(assignee=user, status=FollowUp.Status.OPEN, due_date__lte=today)
            .select_related("customer")
            .order_by("due_date", "pk")[:30]
        ),
        "birthdays": [(c, _next_in_week(c, week)) for c in birthdays[:30]],
        "drifting": list(mine.filter(health=Customer.Health.COOLING).order_by("last_touchpoint_at")[:15]),
    }


def _next_in_week(customer: Customer, week: list) -> object:
    return next(d for d in week if (d.month, d.day) == (customer.birthday_month, customer.birthday_day))


def render_digest(message: OutboundMessage) -> RenderedEmail:
    shop = ShopSettings.load()
    today = shop_today(message.planned_at, shop.tz)
    ctx = {**digest_context(user=message.staff_user, today=today), "shop": shop, "site_url": settings.SITE_URL}
    if not (ctx["followups"] or ctx["birthdays"] or ctx["drifting"]):
        raise NothingToSay("Nothing to report today")
    return RenderedEmail(
        subject=f"Your day at {shop.name}: {formats.date_format(today, 'l j F')}",
        text=render_to_string("automations/email/digest.txt", ctx),
        html=render_to_string("automations/email/digest.html", ctx),
    )


class NothingToSay(Exception):
    """A digest with nothing in it is not sent."""


def register_renderers() -> None:
    for kind in DEFAULT_TEMPLATES:
        register_renderer(kind, render_automation)
    register_renderer("digest", render_digest)


def message_id_for(message: OutboundMessage) -> str:
    """<m42.birthday.birthday-2027@domain>: the occasion key in the header, the same on every attempt."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "rapport.invalid"
    return f"<m{message.pk}.{NOT_ATEXT.sub('-', message.kind)}.{NOT_ATEXT.sub('-', message.occasion_key)}@{domain}>"


def email_build(message: OutboundMessage, *, connection=None, test: bool = False) -> EmailMultiAlternatives:
    """The full email for a claimed row: content, footer, unsubscribe/profile links, headers.

    `test` builds the same email for an unsaved row addressed to the person testing it, marked
    as a test ("[Test]" in the subject, a line above the text, an X-Rapport-Test header), so a
    test shows exactly what the customer will get, links included.
    """
    renderer = renderer_for(message.kind)
    if renderer is None:
        raise TemplateError(f"No renderer for messages of kind “{message.kind}”.")
    content = renderer(message)
    shop = ShopSettings.load()
    if test:
        content.subject = f"[Test] {content.subject}"
        domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "rapport.invalid"
        headers = {"Message-ID": make_msgid(domain=domain), "X-Rapport-Test": "yes"}
    else:
        headers = {"Message-ID": message_id_for(message), "X-Rapport-Occasion": message.occasion_key}
    unsubscribe = profile = ""
    reply_to = []
    if message.customer_id:
        reply_to = [reply_address(customer_id=message.customer_id)]  # their answer comes back to their card
        unsubscribe = unsubscribe_url(recipient_key=message.recipient_key)
        profile = profile_url(customer_id=message.customer_id)
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    ctx = {
        "content": content,
        "shop": shop,
        "unsubscribe_url": unsubscribe,
        "profile_url": profile,
        "test": test,
        "test_customer": message.customer if test else None,
    }
    text = render_to_string("automations/email/wrapper.txt", ctx)
    html = render_to_string("automations/email/wrapper.html", ctx)
    email = EmailMultiAlternatives(
        subject=header_line(content.subject),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers=headers,
        connection=connection,
        reply_to=reply_to,
    )
    # Providers echo this in their webhooks (SMTP ignores it): a fallback to find the row.
    email.metadata = {"rapport_outbox": str(message.pk)}  # type: ignore[attr-defined]
    email.attach_alternative(html, "text/html")
    for name, data, mimetype in content.attachments:
        email.attach(name, data, mimetype)
    return email
