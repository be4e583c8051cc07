"""The owner's dashboard and the Dunbar rings."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from automations.selectors import delivery_rates
from crm.clock import shop_today
from crm.http import ShopRequest
from crm.roles import is_owner, owner_required
from customers.models import Customer
from customers.services import followup_open
from dashboard.selectors import DEFAULT_WEEKS, PERIODS, dashboard_for, rings_for
from dashboard.services import dashboard_refresh_enqueue


def _weeks(request: ShopRequest) -> int:
    try:
        weeks = int(request.GET.get("weeks", DEFAULT_WEEKS))
    except ValueError:
        return DEFAULT_WEEKS
    return weeks if weeks in PERIODS else DEFAULT_WEEKS


@require_GET
@owner_required
def dashboard(request: ShopRequest) -> HttpResponse:
    weeks = _weeks(request)
    context = dashboard_for(weeks=weeks, today=shop_today(), now=timezone.now())
    context["periods"] = PERIODS
    context["weeks"] = weeks
    context["rates"] = delivery_rates()
    return render(request, "dashboard/dashboard.html", context)


@require_POST
@owner_required
def drifting_followup(request: ShopRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id, is_archived=False)
    followup = followup_open(
        customer=customer, reason="Drifting away: get in touch", due_date=shop_today(), opened_by=request.user
    )
    who = followup.assignee.get_full_name() or followup.assignee.get_username() if followup.assignee else "you"
    messages.success(request, f"Follow-up for {customer.full_name} added to {who}'s list for today.")
    return redirect(f"{reverse('dashboard:index')}?weeks={_weeks(request)}#drifting")


@require_POST
@owner_required
def refresh(request: ShopRequest) -> HttpResponse:
    dashboard_refresh_enqueue()
    messages.info(
        request, "Recomputing every customer's figures and the dashboard in the background. Reload in a minute."
    )
    return redirect("dashboard:index")


@require_GET
def rings(request: ShopRequest) -> HttpResponse:
    owner = is_owner(request.user)
    scope = request.GET.get("scope") or ("shop" if owner else "mine")
    if scope not in ("shop", "mine"):
        scope = "mine"
    context = rings_for(user=request.user if scope == "mine" else None, today=shop_today())
    context["scope"] = scope
    return render(request, "dashboard/rings.html", context)
