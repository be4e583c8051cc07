"""Counter redeem page and the friend-card gifts panel (issue, redeem), htmx with no-JS fallbacks."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.clock import shop_today
from crm.http import ShopRequest
from crm.ratelimits import rate_limited
from customers.models import Customer
from gifts.forms import IssueForm, RedeemForm
from gifts.models import CODE_LENGTH, GiftCode
from gifts.panel import card_panel_context, issue_form_context
from gifts.services import (
    gift_code_check,
    gift_code_issue,
    gift_code_lookup,
    gift_code_redeem,
    gift_code_value_display,
)


def _first_message(error: ValidationError) -> str:
    return error.messages[0] if error.messages else "That did not work."


def _preview(raw: str) -> dict:
    """What the box shows while staff type: the code's owner and worth, or why it won't redeem."""
    if not raw.strip():
        return {}
    try:
        gift = gift_code_lookup(raw)
    except ValidationError as error:
        typed = (error.params or {}).get("got")
        if typed is not None and typed < CODE_LENGTH:  # still typing: no red box yet
            return {"preview_hint": f"{typed} of {CODE_LENGTH} characters…"}
        return {"preview_error": _first_message(error), "preview_error_code": error.code}
    try:
        gift_code_check(gift)
    except ValidationError as error:
        return {"preview": gift, "preview_error": _first_message(error), "preview_error_code": error.code}
    return {"preview": gift}


@require_http_methods(["GET", "POST"])
@rate_limited(
    group="gift-codes",
    rate_setting="RATELIMIT_GIFT_CODES",
    when=lambda request: bool(request.GET.get("code") or request.POST.get("code")),
)
def redeem(request: ShopRequest) -> HttpResponse:
    """The counter: one box, a preview of whose code it is, one click to redeem."""
    if request.method == "GET":
        raw = request.GET.get("code", "")[:40]
        ctx = {"form": RedeemForm(initial={"code": raw}), **_preview(raw)}
        if request.htmx and request.htmx.target == "redeem-preview":
            return render(request, "gifts/includes/_redeem_preview.html", ctx)
        return render(request, "gifts/redeem.html", ctx)

    form = RedeemForm(request.POST)
    status, ctx = 200, {"form": form}
    if not form.is_valid():
        status, ctx["redeem_error"] = 400, "Type or paste a gift code."
    else:
        try:
            gift = gift_code_redeem(code=form.cleaned_data["code"], redeemed_by=request.user)
        except ValidationError as error:
            status, ctx["redeem_error"] = 400, _first_message(error)
            ctx.update(_preview(form.cleaned_data["code"]))
        else:
            worth = gift_code_value_display(gift, currency=request.shop.currency)
            if not request.htmx:
                messages.success(request, f"Redeemed {gift.display_code}: {worth} for {gift.customer.full_name}.")
                return redirect("gifts:redeem")
            ctx = {"form": RedeemForm(), "redeemed": gift, "redeemed_worth": worth}
    template = "gifts/includes/_redeem_box.html" if request.htmx else "gifts/redeem.html"
    return render(request, template, ctx, status=status)


def _back(request: ShopRequest, customer: Customer) -> HttpResponse:
    """No-JS: back to the page the form was on (the friend card), else the customer's gifts page."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("gifts:customer", args=[customer.pk])
    return redirect(target)


def _panel(request: ShopRequest, customer: Customer, status: int = 200, **extra) -> HttpResponse:
    ctx = {"ctx": card_panel_context(request, customer, **extra)}
    if request.htmx:
        return render(request, "gifts/includes/_card_panel.html", ctx, status=status)
    return render(request, "gifts/customer.html", ctx, status=status)


@require_GET
def customer_gifts(request: ShopRequest, customer_id: int) -> HttpResponse:
    """A customer's gift codes on their own page (the panel, refreshed or without the card)."""
    customer = get_object_or_404(Customer, pk=customer_id)
    return _panel(request, customer)


@require_http_methods(["GET", "POST"])
def issue(request: ShopRequest, customer_id: int) -> HttpResponse:
    """Issue a gift by hand from the friend card (GET: the form, which the card loads when opened)."""
    customer = get_object_or_404(Customer, pk=customer_id)
    if request.method == "GET":
        if not request.htmx:
            return redirect("gifts:customer", customer.pk)
        ctx = issue_form_context(request, customer, next_page=request.GET.get("next", ""))
        return render(request, "gifts/includes/_issue_form.html", {"ctx": ctx})
    form = IssueForm(request.POST, today=shop_today(), prefix="gift")
    if not form.is_valid():
        return _panel(request, customer, status=400, form=form, error="The gift was not issued: see below.")
    data = form.cleaned_data
    try:
        gift = gift_code_issue(
            customer=customer,
            kind=data["kind"],
            value=data["value"],
            product=data["product"],
            expires_on=data["expires_on"],
            source="manual",
            issued_by=request.user,
        )
    except ValidationError as error:
        return _panel(request, customer, status=400, form=form, error=_first_message(error))
    notice = (
        f"Issued {gift.display_code}: {gift_code_value_display(gift, currency=request.shop.currency)}, "
        f"valid until {formats.date_format(gift.expires_on, 'j M Y')}."
    )
    if request.htmx:
        return _panel(request, customer, notice=notice)
    messages.success(request, notice)
    return _back(request, customer)


@require_POST
def card_redeem(request: ShopRequest, customer_id: int, gift_id: int) -> HttpResponse:
    """The redeem button next to an active code on the friend card."""
    gift = get_object_or_404(GiftCode.objects.select_related("customer"), pk=gift_id, customer_id=customer_id)
    customer = gift.customer
    try:
        gift = gift_code_redeem(code=gift.code, redeemed_by=request.user)
    except ValidationError as error:
        if request.htmx:
            return _panel(request, customer, status=400, error=_first_message(error))
        messages.error(request, _first_message(error))
        return _back(request, customer)
    notice = f"Redeemed {gift.display_code}: {gift_code_value_display(gift, currency=request.shop.currency)}."
    if request.htmx:
        return _panel(request, customer, notice=notice)
    messages.success(request, notice)
    return _back(request, customer)
