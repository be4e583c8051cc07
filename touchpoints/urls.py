from django.urls import path

from touchpoints import views

app_name = "touchpoints"
urlpatterns = [
    path("customer/<int:customer_id>/log/", views.touchpoint_create, name="create"),
]
