from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from customers import lookups  # noqa: F401  registers the `ilike` lookup
        from customers.models import Customer, FollowUp, ImportantDate, Product
        from customers.registry import register_card_rows
        from customers.selectors import IMPORTANT_DATE_ROWS, OPEN_FOLLOWUP_ROWS

        register_card_rows(OPEN_FOLLOWUP_ROWS, FollowUp, status=FollowUp.OPEN_STATUSES)
        register_card_rows(IMPORTANT_DATE_ROWS, ImportantDate)

        # Any customer saved or deleted (by a service or the admin) may change the list's cached total.
        post_save.connect(_customers_changed, sender=Customer, dispatch_uid="customers-count-save")
        post_delete.connect(_customers_changed, sender=Customer, dispatch_uid="customers-count-delete")
        # The product suggestions under every card's log form (a shop-wide part of the card cache).
        post_save.connect(_products_changed, sender=Product, dispatch_uid="customers-products-save")
        post_delete.connect(_products_changed, sender=Product, dispatch_uid="customers-products-delete")


def _customers_changed(**kwargs) -> None:
    from customers.card_cache import active_customers_changed

    active_customers_changed()


def _products_changed(**kwargs) -> None:
    from customers.card_cache import PRODUCT_NAMES, shop_part_changed

    shop_part_changed(PRODUCT_NAMES)
