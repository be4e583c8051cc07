from django.apps import AppConfig


class CommunityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "community"

    def ready(self) -> None:
        from automations.rendering import register_renderer
        from community import rendering

        register_renderer("newsletter", rendering.render_newsletter)
        register_renderer("event_invitation", rendering.render_event_invitation)
        register_renderer("event_reminder", rendering.render_event_reminder)
        register_renderer("event_place", rendering.render_event_place)
        register_renderer("profile_confirm", rendering.render_profile_confirm, transactional=True)
        register_renderer("profile_link", rendering.render_profile_link, transactional=True)

        from automations.models import ProfileLinkEvent
        from community.models import Invitation
        from community.panel import INVITATIONS, PROFILE_LINK_EVENTS, card_panel_context
        from community.services import COMMUNITY_PANEL
        from customers.registry import CardPanel, register_card_panel, register_card_rows

        register_card_rows(INVITATIONS, Invitation)
        register_card_rows(PROFILE_LINK_EVENTS, ProfileLinkEvent)
        register_card_panel(
            CardPanel(
                name=COMMUNITY_PANEL,
                template="community/includes/_card_panel.html",
                context=card_panel_context,
                order=60,
                column="side",
                cached=True,
            )
        )

        from community.selectors import customers_in_segment, segment_choices
        from customers.registry import ListFilterExtension, register_list_filter

        register_list_filter(
            ListFilterExtension(
                name="segment", empty_label="Any segment", choices=segment_choices, apply=customers_in_segment
            )
        )
        # The list's segment filter is kept with its other choices (customers.selectors.list_filter_choices).
        from django.db.models.signals import post_delete, post_save

        from community.models import Segment

        post_save.connect(_segments_changed, sender=Segment, dispatch_uid="community-segments-save")
        post_delete.connect(_segments_changed, sender=Segment, dispatch_uid="community-segments-delete")


def _segments_changed(**kwargs) -> None:
    from customers.card_cache import LIST_CHOICES, shop_value_changed

    shop_value_changed(LIST_CHOICES)
