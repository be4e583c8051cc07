"""Provider webhooks (delivery events and replies), and the staff calendar feed with its settings page."""

import logging

from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailWebhookValidationFailure,
)
from anymail.webhooks.amazon_ses import (
    AmazonSESInboundWebhookView,
    AmazonSESTrackingWebhookView,
)
from anymail.webhooks.brevo import BrevoInboundWebhookView, BrevoTrackingWebhookView
from anymail.webhooks.mailgun import (
    MailgunInboundWebhookView,
    MailgunTrackingWebhookView,
)
from anymail.webhooks.postmark import (
    PostmarkInboundWebhookView,
    PostmarkTrackingWebhookView,
)
from anymail.webhooks.sendgrid import (
    SendGridInboundWebhookView,
    SendGridTrackingWebhookView,
)
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from crm.forms import form_add_errors
from crm.http import ShopRequest
from crm.roles import is_owner
from mailevents.calendars import calendar_feed_ics
from mailevents.forms import CalendarFeedForm
from mailevents.models import CalendarFeed
from mailevents.services import (
    calendar_feed_create,
    calendar_feed_live,
    calendar_feed_revoke,
    mail_event_refused_record,
)

log = logging.getLogger(__name__)
# Providers whose every call anymail checks against a signing key (on top of the optional password).
SIGNED_PROVIDERS = {"mailgun"}

# anymail checks each provider's signature or basic auth and normalises the payload; its signals
# (mailevents.receivers) store the events. One view per provider and direction, built once.
WEBHOOK_VIEWS = {
    ("postmark", "tracking"): PostmarkTrackingWebhookView.as_view(),
    ("postmark", "inbound"): PostmarkInboundWebhookView.as_view(),
    ("mailgun", "tracking"): MailgunTrackingWebhookView.as_view(),
    ("mailgun", "inbound"): MailgunInboundWebhookView.as_view(),
    ("amazon_ses", "tracking"): AmazonSESTrackingWebhookView.as_view(),
    ("amazon_ses", "inbound"): AmazonSESInboundWebhookView.as_view(),
    ("brevo", "tracking"): BrevoTrackingWebhookView.as_view(),
    ("brevo", "inbound"): BrevoInboundWebhookView.as_view(),
    ("sendgrid", "tracking"): SendGridTrackingWebhookView.as_view(),
    ("sendgrid", "inbound"): SendGridInboundWebhookView.as_view(),
}


@login_not_required
@csrf_exempt  # providers post with their own signature or basic auth, never a CSRF token
@require_http_methods(["POST", "HEAD"])
def webhook(request: HttpRequest, provider: str, direction: str) -> HttpResponse:
    """Hand the call to anymail's view; a call that fails its check is kept as refused and answered 400."""
    view = WEBHOOK_VIEWS.get((provider, direction))
    if view is None:
        raise Http404("No such mail provider webhook.")
    if provider not in SIGNED_PROVIDERS and not (getattr(settings, "ANYMAIL", {}) or {}).get("WEBHOOK_SECRET"):
        # anymail would accept (and only warn about) calls without a password: anyone could then
        # suppress any address. Without ANYMAIL_WEBHOOK_SECRET these URLs are simply not there.
        raise Http404("Mail provider webhooks need ANYMAIL_WEBHOOK_SECRET.")
    try:
        return view(request)
    except AnymailWebhookValidationFailure as exc:
        mail_event_refused_record(provider=provider, body=request.body, reason=f"{direction}: {exc}")
        log.warning("Refused a %s %s webhook call: %s", provider, direction, exc)
        return HttpResponse("Refused: signature or password check failed.", status=400, content_type="text/plain")
    except (AnymailAPIError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # Past the check but not in the provider's shape (not JSON, fields missing): kept, answered 400.
        mail_event_refused_record(provider=provider, body=request.body, reason=f"{direction}: unreadable: {exc!r}")
        log.warning("Unreadable %s %s webhook call: %r", provider, direction, exc)
        return HttpResponse("Refused: not a payload this webhook understands.", status=400, content_type="text/plain")
    except AnymailConfigurationError as exc:
        # e.g. Mailgun's signing key is not set: the provider is not connected, so there is nothing here.
        log.warning("A %s webhook was called but the provider is not configured: %s", provider, exc)
        raise Http404("This mail provider is not connected.") from exc


@login_not_required
@require_safe  # calendar apps may ask with HEAD first
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The .ics a phone or Outlook subscribes to; the URL's token is the secret, so no login."""
    feed = calendar_feed_live(token=token)
    if feed is None:
        raise Http404("No such calendar.")
    response = HttpResponse(
        calendar_feed_ics(feed=feed, now=timezone.now()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="rapport.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


def _feed_url(request: ShopRequest, feed: CalendarFeed | None) -> str:
    return request.build_absolute_uri(reverse("mailevents:calendar_feed", args=[feed.token])) if feed else ""


@require_http_methods(["GET", "POST"])
def calendar_settings(request: ShopRequest) -> HttpResponse:
    """Show the user's secret calendar URL; make a new one (the old stops working) or revoke it."""
    user = request.user
    owner = is_owner(user)
    feed = CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()
    form = CalendarFeedForm(request.POST or None, owner=owner, initial={"scope": feed.scope if feed else "mine"})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                calendar_feed_create(user=user, scope=form.cleaned_data["scope"])
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, "Your calendar has a new secret address; the old one no longer works.")
                return redirect("mailevents:calendar_settings")
        status = 400
    ctx = {
        "feed": feed,
        "feed_url": _feed_url(request, feed),
        "form": form,
        "is_owner": owner,
        "webcal_url": _feed_url(request, feed).replace("https://", "webcal://").replace("http://", "webcal://"),
    }
    return render(request, "mailevents/calendar_settings.html", ctx, status=status)


@require_POST
def calendar_revoke(request: ShopRequest) -> HttpResponse:
    if calendar_feed_revoke(user=request.user):
        messages.success(request, "Calendar address revoked: subscribed calendars stop updating.")
    return redirect("mailevents:calendar_settings")
