from django.urls import path  # noqa: F401

from automations import views  # noqa: F401

app_name = "automations"
urlpatterns: list = []
