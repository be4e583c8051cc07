from django.apps import AppConfig


class GiftsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gifts"

    def ready(self) -> None:
        from django.urls import reverse

        from customers.registry import CardPanel, register_card_panel, register_card_rows, register_timeline_source
        from gifts.models import GiftCode
        from gifts.panel import card_panel_context
        from gifts.selectors import GIFT_CODES
        from gifts.services import GIFTS_PANEL
        from gifts.timeline import timeline_gifts

        register_timeline_source(timeline_gifts)
        register_card_rows(GIFT_CODES, GiftCode)

        register_card_panel(
            CardPanel(
                name=GIFTS_PANEL,
                template="gifts/includes/_card_panel.html",
                # The card's own address to come back to, not the request's: the same HTML for every
                # visit, so the panel can be kept in the card's cache.
                context=lambda request, customer: card_panel_context(
                    request, customer, lazy_form=True, next_page=reverse("customers:detail", args=[customer.pk])
                ),
                order=30,
                column="side",
                cached=True,
            )
        )
