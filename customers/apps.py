from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"

    def ready(self) -> None:
        from django.contrib.auth.models import User
        from django.db.models.signals import post_delete, post_migrate, post_save

        from customers import lookups  # noqa: F401  registers the `ilike` lookup
        from customers.models import Customer, FollowUp, ImportantDate, Product, Tag
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
        # The list's filter choices (customers.selectors.list_filter_choices).
        post_save.connect(_tags_changed, sender=Tag, dispatch_uid="customers-tags-save")
        post_delete.connect(_tags_changed, sender=Tag, dispatch_uid="customers-tags-delete")
        # The follow-up form's people, on every card (added, renamed, deactivated in the app or the admin).
        post_save.connect(_users_changed, sender=User, dispatch_uid="customers-users-save")
        post_delete.connect(_users_changed, sender=User, dispatch_uid="customers-users-delete")
        # Every upgrade runs migrate: cached parts are drawn again with the new templates.
        post_migrate.connect(_migrated, sender=self, dispatch_uid="customers-migrated")


def _customers_changed(**kwargs) -> None:
    from customers.card_cache import active_customers_changed

    active_customers_changed()


def _products_changed(**kwargs) -> None:
    from customers.card_cache import LIST_CHOICES, PRODUCT_NAMES, shop_part_changed, shop_value_changed

    shop_part_changed(PRODUCT_NAMES)
    shop_value_changed(LIST_CHOICES)


def _tags_changed(**kwargs) -> None:
    from customers.card_cache import LIST_CHOICES, shop_value_changed

    shop_value_changed(LIST_CHOICES)


def _users_changed(update_fields=None, **kwargs) -> None:
    """Not for a login (it saves last_login alone); otherwise the people to assign follow-ups to may
    have changed, on every card (the follow-ups part holds the form with them)."""
    if update_fields is not None and set(update_fields) <= {"last_login", "password"}:
        return
    from customers.card_cache import (
        ASSIGNEE_OPTIONS,
        LIST_CHOICES,
        cards_all_changed,
        shop_part_changed,
        shop_value_changed,
    )

    shop_part_changed(ASSIGNEE_OPTIONS)
    shop_value_changed(LIST_CHOICES)
    cards_all_changed()


def _migrated(**kwargs) -> None:
    from customers.card_cache import everything_changed

    everything_changed()
