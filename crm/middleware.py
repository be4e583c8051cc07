from django.utils import timezone

from crm.models import ShopSettings


class ShopTimezoneMiddleware:
    """Show every page in the shop's time zone; storage stays UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with ShopSettings.for_request() as shop:
            request.shop = shop
            timezone.activate(shop.tz)
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
