from django.apps import AppConfig


class MaileventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mailevents"
    verbose_name = "Mail events, replies and calendars"

    def ready(self) -> None:
        from mailevents import receivers  # noqa: F401  (connects anymail's tracking and inbound signals)
