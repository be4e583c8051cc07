"""The request Rapport's pages get, for the type checker: what the middleware puts on every request."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from crm.models import ShopSettings


class ShopRequest(HttpRequest):
    """A logged-in page's request (LoginRequiredMiddleware), with the shop's settings and htmx's details.

    Views marked @login_not_required take a plain HttpRequest: their user may be anonymous.
    """

    user: User
    shop: ShopSettings  # crm.middleware.ShopTimezoneMiddleware
    htmx: HtmxDetails  # django_htmx.middleware.HtmxMiddleware
