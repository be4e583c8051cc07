from django.apps import AppConfig


class TouchpointsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "touchpoints"

    def ready(self) -> None:
        from touchpoints.selectors import touchpoint_timeline_source
        from touchpoints.timeline import register_timeline_source

        register_timeline_source(touchpoint_timeline_source)
