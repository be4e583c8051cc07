from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for a shop with a year behind it. On top of every other app, since it fills them all."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
