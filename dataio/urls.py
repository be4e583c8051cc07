from django.urls import path  # noqa: F401

from dataio import views  # noqa: F401

app_name = "dataio"
urlpatterns: list = []
