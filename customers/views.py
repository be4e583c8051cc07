"""Customer pages: My day, the list, search, the friend card, add/edit/archive, follow-ups."""

from dataclasses import replace
from datetime import UTC
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_POST

from crm.clock import shop_today
from crm.forms import form_add_errors
from crm.http import ShopRequest
from customers import services
from customers.birthdays import birthday_countdown, birthday_is_near
from customers.card_cache import (
    FOLLOWUPS,
    IMPORTANT_DATES,
    TIMELINE,
    USUALLY_BUYS,
    FragmentKey,
    card_fragments,
    fragments_store,
    my_day_fragment,
)
from customers.forms import CustomerForm, FollowUpForm, ImportantDateForm, ListFilterForm, SnoozeForm
from customers.models import Customer, FollowUp, ImportantDate, Tag
from customers.registry import TimelineCursor, card_panels_for, list_filter_extensions
from customers.selectors import (
    SEARCH_DROPDOWN_LIMIT,
    ListFilters,
    active_product_names,
    cheap_page,
    customer_card_get,
    customer_important_dates,
    customer_list_rows,
    customer_open_followups,
    customer_search_rows,
    customer_usual_products,
    my_birthdays,
    my_day_get,
    my_followups,
    with_birthday_countdowns,
)
from customers.timeline import TIMELINE_FIRST_PAGE, timeline_page

LIST_PAGE_SIZE = 25
SEARCH_PAGE_SIZE = 25
SNOOZE_CHOICES = [(1, "+1 day"), (7, "+1 week")]


# --- My day ------------------------------------------------------------------


def my_day(request: ShopRequest) -> HttpResponse:
    """The lists come from the cache (customers/card_cache.py) until something on them changes; read then."""
    today = shop_today()
    drawn: dict[FragmentKey, str] = {}
    context = {
        "today": today,
        "day": SimpleLazyObject(lambda: my_day_get(user=request.user, today=today)),
        "snooze_choices": SNOOZE_CHOICES,
        # With a query string the rows' "next" links differ: drawn afresh.
        "card_fragments": None
        if request.GET
        else my_day_fragment(user_id=request.user.pk, today=today, shop=request.shop),
        "card_fragments_drawn": drawn,
    }
    response = render(request, "customers/my_day.html", context)
    fragments_store(drawn)
    return response


def my_day_followups(request: ShopRequest) -> HttpResponse:
    """Every follow-up of mine due by today, a page at a time (My day shows the first few)."""
    today = shop_today()
    page = Paginator(my_followups(user=request.user, today=today), LIST_PAGE_SIZE).get_page(_page_number(request))
    return render(
        request,
        "customers/my_followups.html",
        {
            "page": page,
            "today": today,
            "snooze_choices": SNOOZE_CHOICES,
        },
    )


def my_day_birthdays(request: ShopRequest) -> HttpResponse:
    """Every birthday among my customers this week, a page at a time (My day shows the first few)."""
    today = shop_today()
    page = Paginator(my_birthdays(user=request.user, today=today), LIST_PAGE_SIZE).get_page(_page_number(request))
    page.object_list = with_birthday_countdowns(page.object_list, today=today)
    return render(request, "customers/my_birthdays.html", {"page": page, "today": today})


# --- List and search -------------------------------------------------------------


def _page_number(request: ShopRequest) -> int:
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1


def customer_list_view(request: ShopRequest) -> HttpResponse:
    form = ListFilterForm(request.GET or None)
    filters = ListFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = ListFilters(
            q=data["q"],
            tag=data["tag"].pk if data["tag"] else None,
            owner=data["owner"].pk if data["owner"] else None,
            product=data["product"].pk if data["product"] else None,
            birthday_month=data["birthday_month"],
            bought=data["bought"].pk if data["bought"] else None,
            health=data["health"],
            stage=data["stage"],
            archived=data["archived"],
            sort=data["sort"] or "name",
            extra={ext.name: data[ext.name] for ext in list_filter_extensions() if data.get(ext.name)},
        )
    customers = customer_list_rows(filters=filters, region=request.shop.phone_region)
    page = Paginator(customers, LIST_PAGE_SIZE).get_page(_page_number(request))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "filtered": bool(request.GET.get("q"))
            or any(
                request.GET.get(k)
                for k in (
                    "tag",
                    "owner",
                    "product",
                    "bought",
                    "birthday_month",
                    "health",
                    "stage",
                    "archived",
                    *(extension.name for extension in list_filter_extensions()),
                )
            ),
        },
    )


@require_GET
def customer_search_view(request: ShopRequest) -> HttpResponse:
    """The top-bar search: a dropdown of up to 10 as you type (htmx), a paginated page on Enter."""
    q = request.GET.get("q", "").strip()[:100]

    def rows(start: int, stop: int) -> list[Customer]:
        return list(customer_search_rows(q=q, region=request.shop.phone_region, start=start, stop=stop))

    if request.htmx and request.GET.get("dropdown"):
        results = rows(0, SEARCH_DROPDOWN_LIMIT + 1)
        return render(
            request,
            "customers/includes/_search_dropdown.html",
            {
                "q": q,
                "results": results[:SEARCH_DROPDOWN_LIMIT],
                "more": len(results) > SEARCH_DROPDOWN_LIMIT,
                "pick": request.GET.get("pick", ""),
            },
        )
    # No COUNT(*) of every match: "Next" shows when one more row exists.
    page = cheap_page(rows, number=_page_number(request), size=SEARCH_PAGE_SIZE) if q else None
    return render(request, "customers/search.html", {"q": q, "page": page, "query": urlencode({"q": q})})


# --- The friend card -----------------------------------------------------------


def _parse_before(value: str | None) -> TimelineCursor | None:
    """The timeline page cursor from ?before= (a bare time from older links counts as one)."""
    if not value:
        return None
    try:
        cursor = TimelineCursor.parse(value)
    except ValueError:
        raise Http404("No such page of the timeline.") from None
    if timezone.is_naive(cursor.at):
        cursor = replace(cursor, at=timezone.make_aware(cursor.at, UTC))
    return cursor


def card_context(request: ShopRequest, customer: Customer, **extra) -> dict:
    """Everything the friend card shows; other apps' panels (the log form too) come from customers.registry.

    The timeline, "usually buys", the follow-ups, the important dates and the panels marked `cached`
    are read lazily: when their HTML is in the card's versioned cache (customers/card_cache.py) the
    template takes it from there and they are never read.
    """
    today = shop_today()
    panels = card_panels_for(request, customer)
    before = _parse_before(request.GET.get("before"))
    ctx = {
        "customer": customer,
        "countdown": birthday_countdown(
            day=customer.birthday_day, month=customer.birthday_month, year=customer.birthday_year, today=today
        ),
        "birthday_near": birthday_is_near(day=customer.birthday_day, month=customer.birthday_month, today=today),
        "usual_products": SimpleLazyObject(lambda: customer_usual_products(customer=customer, today=today)),
        "followups": SimpleLazyObject(lambda: customer_open_followups(customer=customer)),
        "important_dates": SimpleLazyObject(lambda: customer_important_dates(customer=customer)),
        "timeline": SimpleLazyObject(
            lambda: timeline_page(customer=customer, before=before, limit=TIMELINE_FIRST_PAGE)
        ),
        # An older page of the timeline (?before=, without htmx) or a form with errors (`extra`) is
        # rare: drawn without the cache.
        "card_fragments_drawn": {},
        "card_fragments": None
        if before or extra
        else card_fragments(
            customer_id=customer.pk,
            today=today,
            shop=request.shop,
            parts=[
                TIMELINE,
                USUALLY_BUYS,
                FOLLOWUPS,
                IMPORTANT_DATES,
                *(p["panel"].name for p in panels if p["panel"].cached),
            ],
        ),
        "side_panels": [p for p in panels if p["panel"].column == "side"],
        "log_panels": [p for p in panels if p["panel"].column == "log"],
        "main_panels": [p for p in panels if p["panel"].column not in ("side", "log")],
        # Built only when their parts are drawn (not when the card's cache has them).
        "followup_form": SimpleLazyObject(lambda: FollowUpForm(initial={"due_date": today})),
        "important_date_form": SimpleLazyObject(ImportantDateForm),
        "snooze_choices": SNOOZE_CHOICES,
        "today": today,
    }
    ctx.update(extra)
    return ctx


def customer_detail(request: ShopRequest, customer_id: int) -> HttpResponse:
    try:
        customer = customer_card_get(customer_id=customer_id)
    except Customer.DoesNotExist:
        raise Http404("No such customer.") from None
    if request.htmx and request.GET.get("before"):
        timeline = timeline_page(customer=customer, before=_parse_before(request.GET.get("before")))
        return render(request, "customers/includes/_timeline_page.html", {"customer": customer, "timeline": timeline})
    context = card_context(request, customer)
    response = render(request, "customers/detail.html", context)
    fragments_store(context["card_fragments_drawn"])
    return response


# --- Add, edit, archive ------------------------------------------------------------


def _customer_form_page(request, form, customer=None, status=200) -> HttpResponse:
    return render(
        request,
        "customers/form.html",
        {
            "form": form,
            "customer": customer,
            "product_names": active_product_names(),
            "tag_names": Tag.objects.values_list("name", flat=True),
            "referred_by": form["referred_by"].value()
            and Customer.objects.filter(pk=form["referred_by"].value()).first()
            if str(form["referred_by"].value() or "").isdigit()
            else None,
        },
        status=status,
    )


def customer_create(request: ShopRequest) -> HttpResponse:
    region = request.shop.phone_region
    if request.method != "POST":
        initial = {"owner": request.user, "first_name": request.GET.get("first_name", "")[:100]}
        return _customer_form_page(request, CustomerForm(region=region, initial=initial))
    form = CustomerForm(request.POST, region=region)
    if form.is_valid():
        try:
            customer = services.customer_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, f"{customer.full_name} was added.")
            return redirect("customers:detail", customer.pk)
    return _customer_form_page(request, form, status=400)


def customer_update(request: ShopRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    region = request.shop.phone_region
    if request.method != "POST":
        return _customer_form_page(request, CustomerForm(instance=customer, region=region), customer)
    form = CustomerForm(request.POST, instance=customer, region=region)
    if form.is_valid():
        try:
            services.customer_update(customer=customer, updated_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, "Saved.")
            return redirect("customers:detail", customer.pk)
    customer.refresh_from_db()
    return _customer_form_page(request, form, customer, status=400)


@require_POST
def customer_archive(request: ShopRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    archive = request.POST.get("archive") != "0"
    services.customer_archive(customer=customer, archived_by=request.user, archived=archive)
    messages.success(request, f"{customer.full_name} was {'archived' if archive else 'brought back'}.")
    return redirect("customers:detail", customer.pk)


# --- Important dates -----------------------------------------------------------------


@require_POST
def important_date_add(request: ShopRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    form = ImportantDateForm(request.POST)
    if form.is_valid():
        try:
            services.important_date_add(
                customer=customer,
                added_by=request.user,
                label=form.cleaned_data["label"],
                day=form.cleaned_data["day"],
                month=form.cleaned_data["month"],
                year=form.cleaned_data["year"],
            )
        except ValidationError as error:
            for errors in error.message_dict.values():
                for message in errors:
                    form.add_error(None, message)
        else:
            return _dates_response(request, customer, ImportantDateForm())
    return _dates_response(request, customer, form, status=400)


@require_POST
def important_date_remove(request: ShopRequest, customer_id: int, date_id: int) -> HttpResponse:
    important = get_object_or_404(ImportantDate, pk=date_id, customer_id=customer_id)
    services.important_date_remove(important_date=important, removed_by=request.user)
    return _dates_response(request, important.customer, ImportantDateForm())


def _dates_response(request, customer: Customer, form, status: int = 200) -> HttpResponse:
    if not request.htmx:
        if status != 200:
            customer = customer_card_get(customer_id=customer.pk)
            return render(
                request,
                "customers/detail.html",
                card_context(request, customer, important_date_form=form),
                status=status,
            )
        return redirect("customers:detail", customer.pk)
    return render(
        request,
        "customers/includes/_important_dates.html",
        {
            "customer": customer,
            "important_dates": customer_important_dates(customer=customer),
            "important_date_form": form,
        },
        status=status,
    )


# --- Follow-ups ------------------------------------------------------------------


@require_POST
def followup_create(request: ShopRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.followup_open(
                customer=customer,
                opened_by=request.user,
                reason=form.cleaned_data["reason"],
                due_date=form.cleaned_data["due_date"],
                assignee=form.cleaned_data["assignee"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            form = FollowUpForm(initial={"due_date": shop_today()})
            return _followups_response(request, customer, form)
    return _followups_response(request, customer, form, status=400)


def _followups_response(request, customer: Customer, form, status: int = 200) -> HttpResponse:
    if not request.htmx:
        if status != 200:
            customer = customer_card_get(customer_id=customer.pk)
            return render(
                request, "customers/detail.html", card_context(request, customer, followup_form=form), status=status
            )
        return redirect("customers:detail", customer.pk)
    return render(
        request,
        "customers/includes/_followups.html",
        {
            "customer": customer,
            "followups": customer_open_followups(customer=customer),
            "followup_form": form,
            "snooze_choices": SNOOZE_CHOICES,
        },
        status=status,
    )


@require_POST
def followup_action(request: ShopRequest, followup_id: int, action: str) -> HttpResponse:
    """Done, snooze or cancel in one click; answers the row's new state to htmx."""
    followup = get_object_or_404(FollowUp.objects.select_related("customer"), pk=followup_id)
    try:
        if action == "done":
            services.followup_done(followup=followup, done_by=request.user)
            note = "Done."
        elif action == "cancel":
            services.followup_cancel(followup=followup, cancelled_by=request.user)
            note = "Cancelled."
        elif action == "snooze":
            form = SnoozeForm(request.POST)
            if not form.is_valid():
                return HttpResponse("Choose how long to snooze for.", status=400)
            services.followup_snooze(
                followup=followup, snoozed_by=request.user, days=form.cleaned_data["days"], today=shop_today()
            )
            note = f"Snoozed until {followup.due_date:%a %-d %b}."
        else:
            raise Http404("No such action.")
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=409)
    if request.htmx:
        return render(request, "customers/includes/_followup_closed.html", {"followup": followup, "note": note})
    messages.success(request, f"{followup.reason}: {note}")
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect(reverse("customers:my_day"))
