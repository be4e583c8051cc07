from django.apps import AppConfig


class GiftsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gifts"

    def ready(self) -> None:
        from customers.panels import CardPanel, register_card_panel
        from gifts.panel import card_panel_context
        from gifts.timeline import timeline_gifts
        from touchpoints.timeline import register_timeline_source

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
