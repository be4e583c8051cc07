from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from customers import lookups  # noqa: F401  registers the `ilike` lookup
        from customers.models import Customer

        # Any customer saved or deleted (by a service or the admin) may change the list's cached total.
        post_save.connect(_customers_changed, sender=Customer, dispatch_uid="customers-count-save")
        post_delete.connect(_customers_changed, sender=Customer, dispatch_uid="customers-count-delete")


def _customers_changed(**kwargs) -> None:
    from customers.card_cache import active_customers_changed

    active_customers_changed()
