from django.apps import AppConfig


class TillsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tills"
    verbose_name = "Tills"
