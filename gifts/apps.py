from django.apps import AppConfig


class GiftsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gifts"

    def ready(self) -> None:
        from customers.registry import CardPanel, register_card_panel, register_timeline_source
        from gifts.panel import card_panel_context
        from gifts.timeline import timeline_gifts

        register_timeline_source(timeline_gifts)

        register_card_panel(
            CardPanel(
                name="gifts",
                template="gifts/includes/_card_panel.html",
                context=lambda request, customer: card_panel_context(request, customer, lazy_form=True),
                order=30,
                column="side",
            )
        )
