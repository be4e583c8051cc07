"""Till webhooks (no login: signed by the vendor), the "From the till" inbox, and connecting a till."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.forms import form_add_errors
from crm.http import ShopRequest
from crm.roles import owner_required
from customers.models import Customer
from customers.selectors import customer_search_rows
from tills import services
from tills.forms import AttachSearchForm, ConnectForm
from tills.models import TillConnection, TillDelivery, TillPurchase, Vendor

INBOX_PAGE_SIZE = 20
MATCHES_SHOWN = 8


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over the limit (read no further than that)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > services.MAX_BODY_BYTES:
        return None
    body = request.read(services.MAX_BODY_BYTES + 1)
    return None if len(body) > services.MAX_BODY_BYTES else body


def _webhook(request: HttpRequest, vendor: str) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST only."}, status=405, headers={"Allow": "POST"})
    body = _read_body(request)
    if body is None:
        body = b"x" * (services.MAX_BODY_BYTES + 1)  # recorded as refused with 413; its content is not kept
    received = services.delivery_receive(vendor=vendor, body=body, headers=request.headers)
    return JsonResponse({"status": received.message}, status=received.http_status)


@csrf_exempt  # signed by the vendor instead (tills.vendors); no cookies are involved
@login_not_required
def square_webhook(request: HttpRequest) -> HttpResponse:
    return _webhook(request, Vendor.SQUARE)


@csrf_exempt
@login_not_required
def shopify_webhook(request: HttpRequest) -> HttpResponse:
    return _webhook(request, Vendor.SHOPIFY)


# --- Inbox -----------------------------------------------------------------------------


def _page_number(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1


def inbox(request: ShopRequest) -> HttpResponse:
    """Purchases no customer matched, newest first; with ?attach=<id>&q=… the matches for one of them."""
    parked = TillPurchase.objects.filter(touchpoint__isnull=True, dismissed_at__isnull=True).order_by(
        "-happened_at", "-pk"
    )
    page = Paginator(parked, INBOX_PAGE_SIZE).get_page(_page_number(request))
    form = AttachSearchForm(request.GET or None)
    attach_id, matches = request.GET.get("attach", ""), None
    if form.is_valid() and form.cleaned_data["q"] and attach_id.isdigit():
        matches = list(
            customer_search_rows(
                q=form.cleaned_data["q"], region=request.shop.phone_region, start=0, stop=MATCHES_SHOWN
            )
        )
    return render(
        request,
        "tills/inbox.html",
        {
            "page": page,
            "form": form,
            "attach_id": int(attach_id) if attach_id.isdigit() else None,
            "matches": matches,
        },
    )


def _parked_or_404(purchase_id: int) -> TillPurchase:
    return get_object_or_404(TillPurchase, pk=purchase_id)


def _done(request: HttpRequest, error: ValidationError | None, ok: str) -> HttpResponse:
    if error is not None:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, ok)
    return redirect("tills:inbox")


@require_POST
def inbox_attach(request: ShopRequest, purchase_id: int) -> HttpResponse:
    purchase = _parked_or_404(purchase_id)
    customer = get_object_or_404(
        Customer.objects.filter(erased_at__isnull=True),
        pk=request.POST.get("customer", "0") if request.POST.get("customer", "").isdigit() else 0,
    )
    try:
        services.till_purchase_attach(till_purchase=purchase, customer=customer, attached_by=request.user)
    except ValidationError as error:
        return _done(request, error, "")
    return _done(request, None, f"The purchase is on {customer.full_name}'s card.")


@require_POST
def inbox_create(request: ShopRequest, purchase_id: int) -> HttpResponse:
    purchase = _parked_or_404(purchase_id)
    try:
        purchase = services.till_purchase_customer_create(till_purchase=purchase, created_by=request.user)
    except ValidationError as error:
        return _done(request, error, "")
    added = purchase.customer.full_name if purchase.customer else "the customer"
    return _done(request, None, f"Added {added} with the purchase on their card.")


@require_POST
def inbox_dismiss(request: ShopRequest, purchase_id: int) -> HttpResponse:
    purchase = _parked_or_404(purchase_id)
    try:
        services.till_purchase_dismiss(till_purchase=purchase)
    except ValidationError as error:
        return _done(request, error, "")
    return _done(request, None, "Dismissed: it stays recorded but leaves the inbox.")


# --- Connecting a till (owner) ----------------------------------------------------------

DELIVERIES_SHOWN = 30
SECRET_LABELS = {Vendor.SQUARE: "2. Its signature key", Vendor.SHOPIFY: "2. Its signing secret"}


def webhook_url(vendor: str) -> str:
    """The absolute URL to paste into the vendor's webhook settings."""
    return settings.SITE_URL.rstrip("/") + reverse(f"tills:{vendor}_webhook")


@owner_required
def connect(request: ShopRequest) -> HttpResponse:
    connections = {c.vendor: c for c in TillConnection.objects.all()}
    forms = {}
    status = 200
    for vendor in (Vendor.SQUARE, Vendor.SHOPIFY):
        connection = connections.get(vendor)
        initial = {
            "notification_url": connection.notification_url
            if connection and connection.notification_url
            else webhook_url(vendor)
        }
        posted = request.method == "POST" and request.POST.get("vendor") == vendor
        forms[vendor] = ConnectForm(request.POST if posted else None, initial=initial, prefix=vendor)
        forms[vendor].fields["secret"].label = SECRET_LABELS[vendor]
        if posted:
            form = forms[vendor]
            if request.POST.get("action") == "disconnect":
                services.till_disconnect(vendor=vendor)
                messages.success(request, f"{vendor.label} disconnected: its webhooks are refused from now on.")
                return redirect("tills:connect")
            if form.is_valid():
                try:
                    services.till_connect(vendor=vendor, connected_by=request.user, **form.cleaned_data)
                except ValidationError as error:
                    form_add_errors(form, error)
                else:
                    messages.success(request, f"{vendor.label} connected.")
                    return redirect("tills:connect")
            status = 400
    vendors = [
        {"vendor": v, "label": v.label, "url": webhook_url(v), "form": forms[v], "connection": connections.get(v)}
        for v in (Vendor.SQUARE, Vendor.SHOPIFY)
    ]
    deliveries = TillDelivery.objects.only(
        "vendor", "event_id", "event_type", "received_at", "status", "outcome", "http_status"
    ).order_by("-received_at", "-pk")[:DELIVERIES_SHOWN]
    return render(request, "tills/connect.html", {"vendors": vendors, "deliveries": deliveries}, status=status)
