"""Password reset by email for anyone with an account, through the outbox; the owner is told.

Django's own views and token generator do the work (the link works once, for PASSWORD_RESET_TIMEOUT
seconds). Only the sending differs: each email is an outbox row (kinds "password_reset" and
"password_reset_notice"), sent at once to the staff member's own address, never in quiet hours.
The row keeps what was sent, so the link is stored until it expires or is used.
"""

import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator

from automations.models import OutboundMessage
from automations.rendering import RenderedEmail
from automations.services import message_enqueue
from automations.templating import header_line, text_to_html
from crm.models import ShopSettings
from crm.ratelimits import rate_limited
from crm.roles import OWNER

log = logging.getLogger(__name__)

RESET = "password_reset"
NOTICE = "password_reset_notice"


class StaffPasswordResetForm(PasswordResetForm):
    """Django's form, sending through the outbox instead of straight to SMTP."""

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ) -> None:
        password_reset_request(
            user=context["user"],
            link=context["protocol"]
            + "://"
            + context["domain"]
            + reverse("password_reset_confirm", args=[context["uid"], context["token"]]),
        )


@transaction.atomic
def password_reset_request(*, user: User, link: str) -> None:
    """Queue the reset link to `user` and a note to every owner (other than them) that it was asked for."""
    now = timezone.now()
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    rows = [
        OutboundMessage(
            staff_user=user,
            recipient_key=f"u:{user.pk}",
            kind=RESET,
            occasion_key=f"{RESET}:{stamp}",
            planned_at=now,
            priority=5,
            to_email=user.email,
            context={"link": link},
        )
    ]
    owners = User.objects.filter(groups__name=OWNER, is_active=True).exclude(pk=user.pk).exclude(email="")
    for owner in owners.distinct():
        rows.append(
            OutboundMessage(
                staff_user=owner,
                recipient_key=f"u:{owner.pk}",
                kind=NOTICE,
                occasion_key=f"{NOTICE}:{user.pk}:{stamp}",
                planned_at=now,
                priority=5,
                to_email=owner.email,
                context={"who": user.get_full_name() or user.username, "username": user.username},
            )
        )
    for row in rows:
        row.full_clean()
        row.save()
        message_enqueue(row.pk)
    log.info("Password reset asked for user %s; %s owner(s) told", user.pk, len(rows) - 1)


def render_password_reset(message: OutboundMessage) -> RenderedEmail:
    shop = ShopSettings.load()
    link = message.context["link"]
    text = (
        f"Hello,\n\nSomeone (we hope you) asked to reset your password for Rapport at {shop.name}. "
        f"To choose a new one, open this link within the hour:\n\n{link}\n\nIt works once. If you didn't ask, "
        "ignore this email: your password stays as it is. The shop's owner has been told of the request."
    )
    return RenderedEmail(
        subject=f"Reset your Rapport password ({shop.name})", text=text, html=text_to_html(text, link=link)
    )


def render_password_reset_notice(message: OutboundMessage) -> RenderedEmail:
    who = message.context.get("who", "A staff member")
    text = (
        f"Hello,\n\n{who} (user name {message.context.get('username', '?')}) asked for a password reset link "
        f"at {timezone.localtime(message.planned_at, ShopSettings.load().tz):%H:%M on %d %B %Y}. "
        "It went to their own email address. If they didn't ask for it, check their account under Staff."
    )
    return RenderedEmail(subject=header_line(f"Password reset asked for by {who}"), text=text, html=text_to_html(text))


def register_renderers() -> None:
    from automations.rendering import register_renderer

    register_renderer(RESET, render_password_reset)
    register_renderer(NOTICE, render_password_reset_notice)


@method_decorator(
    rate_limited(group="password-reset", rate_setting="RATELIMIT_PUBLIC_PAGES", methods=("POST",)), name="dispatch"
)
class StaffPasswordResetView(auth_views.PasswordResetView):
    form_class = StaffPasswordResetForm
