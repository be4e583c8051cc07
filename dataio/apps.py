from django.apps import AppConfig


class DataioConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dataio"
    verbose_name = "Data in and out"

    def ready(self) -> None:
        from crm.roles import is_owner
        from customers.registry import CardPanel, register_card_panel

        # History and Data links on the friend card, for the owner only (no extra query: the
        # owner check is cached on the user for the nav already).
        register_card_panel(
            CardPanel(
                name="records",
                template="dataio/includes/_card_panel.html",
                order=90,
                context=lambda request, customer: {"customer": customer, "is_owner": is_owner(request.user)},
            )
        )
