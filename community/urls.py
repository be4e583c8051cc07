from django.urls import path  # noqa: F401

from community import views  # noqa: F401

app_name = "community"
urlpatterns: list = []
