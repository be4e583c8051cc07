"""The gifts panel on the friend card (registered in GiftsConfig.ready())."""

from django.utils.functional import SimpleLazyObject

from crm.clock import shop_today
from crm.models import ShopSettings
from customers.models import Customer
from gifts.forms import IssueForm
from gifts.selectors import gift_codes_for_card


def issue_form_context(
    request, customer: Customer, *, form: IssueForm | None = None, next_page: str | None = None, with_form: bool = True
) -> dict:
    """Context for gifts/includes/_issue_form.html (no query until the product choices render).

    `with_form=False` leaves the form out (issue_form is None) for a panel that fetches it when opened.
    """
    shop = getattr(request, "shop", None) or ShopSettings.load()
    today = shop_today(tz=shop.tz)
    return {
        "customer": customer,
        "issue_form": form or (IssueForm(today=today, prefix="gift") if with_form else None),
        "today": today,
        "currency": shop.currency,
        # Where the no-JS form goes back to: the page showing the panel unless told.
        "next": next_page
        if next_page is not None
        else (request.get_full_path() if request.method == "GET" else request.POST.get("next", "")),
    }


def card_panel_context(
    request,
    customer: Customer,
    *,
    form: IssueForm | None = None,
    notice: str = "",
    error: str = "",
    lazy_form: bool = False,
    next_page: str | None = None,
) -> dict:
    """Context for gifts/includes/_card_panel.html: two queries (codes, product choices).

    With `lazy_form` (the friend card) the issue form is fetched when opened: one query, the codes,
    read when the panel is drawn (not at all when the card's cache has it).
    """
    lazy = lazy_form and form is None
    ctx = issue_form_context(request, customer, form=form, with_form=not lazy, next_page=next_page)
    return {
        **ctx,
        "groups": SimpleLazyObject(lambda: gift_codes_for_card(customer=customer, today=ctx["today"])),
        "lazy_form": lazy,
        "notice": notice,
        "error": error,
    }
