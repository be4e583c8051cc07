from django.apps import AppConfig


class TouchpointsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "touchpoints"

    def ready(self) -> None:
        from customers.registry import CardPanel, register_card_panel, register_timeline_source
        from touchpoints.panel import card_panel_context
        from touchpoints.selectors import touchpoint_timeline_source

        register_timeline_source(touchpoint_timeline_source)
        register_card_panel(
            CardPanel(
                name="log",
                template="touchpoints/includes/_card_panel.html",
                context=card_panel_context,
                order=10,
                column="log",
            )
        )
