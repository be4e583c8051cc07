"""Logging a touchpoint from the friend card: htmx puts the new entry on the timeline at once."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm.http import ShopRequest
from customers.card_cache import LOG_FORM, FragmentKey, fragments_store, shop_fragments
from customers.models import Customer
from customers.selectors import active_product_names, customer_get
from customers.timeline import TIMELINE_FIRST_PAGE, timeline_page
from touchpoints.forms import TouchpointForm
from touchpoints.selectors import touchpoint_entry
from touchpoints.services import touchpoint_log


def _form_response(
    request: ShopRequest,
    customer: Customer,
    form: TouchpointForm,
    *,
    entry=None,
    status: int = 200,
    names_changed: bool = False,
    backdated: bool = False,
) -> HttpResponse:
    # The product suggestions sit outside the swapped form: sent again only when products were named.
    drawn: dict[FragmentKey, str] = {}
    response = render(
        request,
        "touchpoints/includes/_log_form.html",
        {
            "customer": customer,
            "touchpoint_form": form,
            "entry": entry,
            # A backdated entry is not the newest: the first page is drawn again rather than the entry put
            # on top, where "Older" would later bring it a second time.
            "timeline": timeline_page(customer=customer, limit=TIMELINE_FIRST_PAGE) if backdated else None,
            "product_names": active_product_names() if names_changed else None,
            # A fresh form is the cards' empty one (the card cache's LOG_FORM); one with errors is drawn.
            "card_fragments": None if form.is_bound else shop_fragments(parts=[LOG_FORM], shop=request.shop),
            "card_fragments_drawn": drawn,
        },
        status=status,
    )
    fragments_store(drawn)
    return response


@require_POST
def touchpoint_create(request: ShopRequest, customer_id: int) -> HttpResponse:
    try:
        customer = customer_get(customer_id=customer_id)
    except Customer.DoesNotExist:
        raise Http404("No such customer.") from None
    form = TouchpointForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            touchpoint = touchpoint_log(
                customer=customer,
                logged_by=request.user,
                kind=data["kind"],
                happened_at=data["happened_at"],
                note=data["note"],
                amount=data["amount"],
                products=data["products"],
                feedback_kind=data["feedback_kind"],
                sentiment=data["sentiment"],
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if not request.htmx:
                return redirect("customers:detail", customer.pk)
            # A fresh form plus the new entry, which htmx puts on top of the timeline (out of band).
            return _form_response(
                request,
                customer,
                TouchpointForm(),
                entry=touchpoint_entry(touchpoint),
                names_changed=bool(data["products"]),
                backdated=data["happened_at"] is not None,
            )
    if not request.htmx:
        from customers.selectors import customer_card_get
        from customers.views import card_context

        card = customer_card_get(customer_id=customer.pk)
        return render(request, "customers/detail.html", card_context(request, card, touchpoint_form=form), status=400)
    return _form_response(request, customer, form, status=400)
