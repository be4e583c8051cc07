from django.urls import path  # noqa: F401

from touchpoints import views  # noqa: F401

app_name = "touchpoints"
urlpatterns: list = []
