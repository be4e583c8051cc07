from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "automations"

    def ready(self) -> None:
        from automations.emails import register_renderers
        from automations.services import on_touchpoint_logged
        from automations.timeline import timeline_messages
        from touchpoints.hooks import on_touchpoint_logged as register_hook
        from touchpoints.timeline import register_timeline_source

        register_renderers()
        register_hook(on_touchpoint_logged)
        register_timeline_source(timeline_messages)
