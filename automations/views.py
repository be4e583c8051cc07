"""Owner pages (settings, templates, outbox), the staff review queue, and the public unsubscribe page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from automations import selectors
from automations.emails import placeholder_values, render_template_for
from automations.forms import DESCRIPTIONS, ApproveForm, AutomationForm, ResendUnknownForm, TemplateForm
from automations.links import recipient_from_unsubscribe_token
from automations.models import Automation, EmailOptOut, OutboundMessage, OutboxControl
from automations.sender import retry_window
from automations.services import (
    automation_get,
    automation_update,
    automations_all,
    customer_unsubscribe,
    message_approve,
    message_resend,
    message_resend_unknown,
    message_skip,
    message_template_update,
    outbox_pause,
    outbox_resend_failed,
    template_errors,
    template_get,
)
from automations.templating import CODE_KINDS, DEFAULT_TEMPLATES, PLACEHOLDERS, TemplateError
from crm.clock import shop_today
from crm.http import ShopRequest
from crm.ratelimits import rate_limited
from crm.roles import owner_required
from customers.models import Customer
from gifts.models import GiftCode

TEMPLATE_KINDS = list(DEFAULT_TEMPLATES)


def _kind_or_404(kind: str, allowed) -> str:
    if kind not in allowed:
        raise Http404("No such automation.")
    return kind


@owner_required
def settings_page(request: ShopRequest) -> HttpResponse:
    """Every automation with its switch and numbers, the pause switch, links to templates."""
    return _settings_render(request, forms={})


def _settings_render(request, forms: dict, status: int = 200) -> HttpResponse:
    cards = []
    for automation in automations_all():
        form = forms.get(automation.kind) or AutomationForm(instance=automation, prefix=automation.kind)
        cards.append(
            {
                "automation": automation,
                "form": form,
                "description": DESCRIPTIONS[automation.kind],
                "has_template": automation.kind in DEFAULT_TEMPLATES,
            }
        )
    ctx = {"cards": cards, "control": OutboxControl.load(), "counts": selectors.outbox_status_counts()}
    return render(request, "automations/settings.html", ctx, status=status)


@owner_required
@require_POST
def automation_save(request: ShopRequest, kind: str) -> HttpResponse:
    automation = automation_get(_kind_or_404(kind, Automation.Kind.values))
    form = AutomationForm(request.POST, instance=automation, prefix=kind)
    if not form.is_valid():
        messages.error(request, f"{automation}: please correct the errors below; nothing was changed.")
        automation.refresh_from_db()
        return _settings_render(request, forms={kind: form}, status=400)
    automation_update(automation=automation, updated_by=request.user, **form.cleaned_data)
    messages.success(request, f"{automation}: saved.")
    return redirect(f"{reverse('automations:settings')}#automation-{kind}")


@owner_required
@require_POST
def pause_toggle(request: ShopRequest) -> HttpResponse:
    paused = request.POST.get("paused") == "1"
    outbox_pause(paused=paused, changed_by=request.user)
    messages.success(request, "All sending is paused." if paused else "Sending is on again.")
    return redirect("automations:settings")


@owner_required
@require_http_methods(["GET", "POST"])
def template_edit(request: ShopRequest, kind: str) -> HttpResponse:
    """Edit one email's subject and body; the preview uses a real customer."""
    _kind_or_404(kind, TEMPLATE_KINDS)
    template = template_get(kind)
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST, kind=kind)
        if form.is_valid():
            message_template_update(kind=kind, updated_by=request.user, **form.cleaned_data)
            messages.success(request, "Template saved.")
            return redirect("automations:template_edit", kind=kind)
        status = 400
    else:
        form = TemplateForm(
            kind=kind,
            initial={"subject": template.subject, "body_text": template.body_text, "body_html": template.body_html},
        )
    customers = list(selectors.preview_customers())
    ctx = {
        "kind": kind,
        "label": dict(Automation.Kind.choices)[kind],
        "form": form,
        "customers": customers,
        "placeholders": PLACEHOLDERS,
        "has_code": kind in CODE_KINDS,
        "preview": _preview(kind, form.data if form.is_bound else form.initial, customers[0] if customers else None),
    }
    return render(request, "automations/template_edit.html", ctx, status=status)


def _preview(kind: str, data, customer: Customer | None) -> dict:
    """What the email would look like for `customer`, or the errors that stop it."""
    subject, body_text, body_html = (data.get(k, "") or "" for k in ("subject", "body_text", "body_html"))
    errors = template_errors(kind=kind, subject=subject, body_text=body_text, body_html=body_html)
    if customer is None:
        return {"errors": errors or ["Add a customer to see a preview."], "customer": None}
    if errors:
        return {"errors": errors, "customer": customer}
    from automations.templating import html_clean
    from crm.models import ShopSettings

    shop = ShopSettings.load()
    # A sample code for the preview only: never saved, nothing is issued.
    sample_gift = GiftCode(code="ABCDEFGH", expires_on=_sample_expiry(shop)) if kind in CODE_KINDS else None
    values = placeholder_values(customer=customer, message=None, shop=shop, gift=sample_gift)
    try:
        rendered = render_template_for(
            kind=kind,
            subject=subject,
            body_text=body_text,
            body_html=html_clean(body_html) if body_html.strip() else "",
            values=values,
        )
    except TemplateError as exc:
        return {"errors": [str(exc)], "customer": customer}
    return {"errors": [], "customer": customer, "rendered": rendered}


def _sample_expiry(shop):
    from datetime import timedelta

    return shop_today(tz=shop.tz) + timedelta(days=30)


@owner_required
@require_POST
def template_preview(request: ShopRequest, kind: str) -> HttpResponse:
    """htmx: the preview panel for the form as typed, for the chosen customer."""
    _kind_or_404(kind, TEMPLATE_KINDS)
    customer = Customer.objects.filter(pk=request.POST.get("customer") or 0).first()
    if customer is None:
        customer = selectors.preview_customers().first()
    ctx = {"preview": _preview(kind, request.POST, customer), "kind": kind}
    return render(request, "automations/includes/_preview.html", ctx)


@owner_required
def outbox(request: ShopRequest) -> HttpResponse:
    """Every message: filter by status and kind; failed and unknown ones can be resent."""
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    if status and status not in OutboundMessage.Status.values:
        status = ""
    counts = selectors.outbox_status_counts()
    control = OutboxControl.load()
    ctx = {
        "page": selectors.outbox_page(status=status, kind=kind, page=request.GET.get("page", 1)),
        "kinds": selectors.outbox_kinds(),
        "status": status,
        "kind": kind,
        "statuses": [(value, label, counts[value]) for value, label in OutboundMessage.Status.choices],
        "control": control,
        "now": selectors.now_for_templates(),
        "retry_window_hours": round(retry_window().total_seconds() / 3600),
        "outage": selectors.outbox_mail_outage(control=control),
        "failed_count": counts[OutboundMessage.Status.FAILED],
        "rates": selectors.delivery_rates(),
    }
    return render(request, "automations/outbox.html", ctx)


@owner_required
@require_POST
def message_resend_view(request: ShopRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboundMessage, pk=pk)
    try:
        message_resend(message=message, resent_by=request.user)
        messages.success(request, f"{message.kind_label} to {message.recipient_name} will be sent again now.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(request.POST.get("next") or "automations:outbox" if _safe_next(request) else "automations:outbox")


@owner_required
@require_http_methods(["GET", "POST"])
def message_resend_unknown_view(request: ShopRequest, pk: int) -> HttpResponse:
    """A message that may have arrived: resending it is a separate step, with the warning and a tick box."""
    message = get_object_or_404(OutboundMessage.objects.select_related("customer", "staff_user"), pk=pk)
    if message.status != OutboundMessage.Status.UNKNOWN:
        messages.error(request, "Only a message that may have arrived can be resent this way.")
        return redirect("automations:outbox")
    form = ResendUnknownForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        message_resend_unknown(message=message, resent_by=request.user, confirmed=form.cleaned_data["confirm"])
        messages.success(request, f"{message.kind_label} to {message.recipient_name} will be sent again now.")
        return redirect("automations:outbox")
    status = 400 if request.method == "POST" else 200
    return render(request, "automations/resend_unknown.html", {"message": message, "form": form}, status=status)


@owner_required
@require_POST
def outbox_resend_failed_view(request: ShopRequest) -> HttpResponse:
    """Resend every failed message the server did not refuse for good; each gets a fresh retry window."""
    count = outbox_resend_failed(resent_by=request.user)
    if count:
        messages.success(request, f"{count:,} failed message{'s' if count != 1 else ''} will be sent again.")
    else:
        messages.info(request, "No failed messages to resend (those refused by the mail server stay failed).")
    return redirect("automations:outbox")


def _safe_next(request) -> bool:
    return (request.POST.get("next") or "").startswith(reverse("automations:outbox"))


@require_http_methods(["GET"])
def review_queue(request: ShopRequest) -> HttpResponse:
    """Staff: drafts from automations in review mode; add a personal line and approve in one click."""
    drafts = [{"message": m, "form": ApproveForm(prefix=f"m{m.pk}")} for m in selectors.review_queue()]
    return render(request, "automations/review.html", {"drafts": drafts})


@require_POST
def review_decide(request: ShopRequest, pk: int, decision: str) -> HttpResponse:
    message = get_object_or_404(OutboundMessage, pk=pk)
    form = ApproveForm(request.POST, prefix=f"m{pk}")
    error = ""
    if decision not in ("approve", "skip"):
        raise Http404("No such decision.")
    if not form.is_valid():
        error = "The personal line is too long (500 characters at most)."
    else:
        try:
            if decision == "approve":
                message_approve(
                    message=message, approved_by=request.user, personal_line=form.cleaned_data["personal_line"]
                )
            else:
                message_skip(message=message, skipped_by=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        message.refresh_from_db()
    if request.htmx:
        ctx = {"d": {"message": message, "form": form}, "error": error}
        return render(request, "automations/includes/_review_item.html", ctx, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, "Approved: it will be sent in sending hours." if decision == "approve" else "Skipped."
        )
    return redirect("automations:review")


@login_not_required
@rate_limited(group="public-links", rate_setting="RATELIMIT_PUBLIC_PAGES")
@csrf_exempt  # mail apps POST the one-click unsubscribe with no cookie or token (RFC 8058); the URL's token is the secret
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and changes nothing (link scanners); POST unsubscribes."""
    try:
        recipient = recipient_from_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "automations/unsubscribe_invalid.html", status=400)
    customer = None
    if isinstance(recipient, str) and recipient.startswith("c:") and recipient[2:].isdigit():
        customer = Customer.objects.filter(pk=int(recipient[2:])).first()
    if customer is None:
        return render(request, "automations/unsubscribe_invalid.html", status=400)
    done = False
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        customer_unsubscribe(customer=customer, via=EmailOptOut.Via.ONE_CLICK if one_click else EmailOptOut.Via.LINK)
        done = True
    ctx = {"done": done, "subscribed": customer.email_consent and not done, "first_name": customer.display_name}
    return render(request, "automations/unsubscribe.html", ctx)
