from django.urls import path  # noqa: F401

from gifts import views  # noqa: F401

app_name = "gifts"
urlpatterns: list = []
