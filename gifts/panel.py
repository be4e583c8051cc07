"""The gifts panel on the friend card (registered in GiftsConfig.ready())."""

from django.middleware.csrf import get_token
from django.utils import timezone

from crm.models import ShopSettings
from customers.models import Customer
from gifts.forms import IssueForm
from gifts.selectors import gift_codes_for_card


def shop_today_for(request):
    """Today in the shop's zone, from the row the middleware already loaded (no query)."""
    shop = getattr(request, "shop", None) or ShopSettings.load()
    return timezone.now().astimezone(shop.tz).date()


def card_panel_context(request, customer: Customer, *, form: IssueForm | None = None,
                       notice: str = "", error: str = "", lazy_form: bool = False,
                       next_page: str | None = None) -> dict:
    """Context for gifts/includes/_card_panel.html: two queries (codes, product choices).

    With `lazy_form` (the friend card) the issue form is fetched when opened: one query, the codes.
    """
    shop = getattr(request, "shop", None) or ShopSettings.load()
    today = timezone.now().astimezone(shop.tz).date()
    # Self-contained (currency, CSRF token) so the card may include it with `only`.
    return {
        "customer": customer,
        "groups": gift_codes_for_card(customer=customer, today=today),
        "issue_form": form or IssueForm(today=today, prefix="gift"),
        "lazy_form": lazy_form and form is None,
        "today": today,
        "notice": notice,
        "error": error,
        "currency": shop.currency,
        "csrf_token": get_token(request),
        # Where the no-JS form goes back to: the page showing the panel unless told.
        "next": next_page if next_page is not None else (
            request.get_full_path() if request.method == "GET" else request.POST.get("next", "")
        ),
    }
