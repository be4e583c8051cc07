"""Writes for shop-wide settings."""

from django.contrib.auth.models import User
from django.db import transaction

from crm.models import ShopSettings

EDITABLE = (
    "name",
    "postal_address",
    "time_zone",
    "currency",
    "phone_region",
    "default_cadence_days",
    "opened_on",
    "max_amount",
)


@transaction.atomic
def shop_settings_update(*, updated_by: User | None, **fields) -> ShopSettings:
    """Change the shop's settings; the change is recorded in their history as `updated_by`'s."""
    shop = ShopSettings.objects.select_for_update().get(pk=ShopSettings.load().pk)
    for name, value in fields.items():
        if name not in EDITABLE:
            raise TypeError(f"{name} is not a shop setting")
        setattr(shop, name, value)
    shop._history_user = updated_by
    shop.full_clean()
    shop.save()
    shop.serve_rest_of_request()
    return shop
