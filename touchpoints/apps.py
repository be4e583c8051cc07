from django.apps import AppConfig


class TouchpointsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'touchpoints'
