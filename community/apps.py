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
