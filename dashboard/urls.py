from django.urls import path

from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard, name="index"),
    path("refresh/", views.refresh, name="refresh"),
    path("drifting/<int:customer_id>/follow-up/", views.drifting_followup, name="drifting_followup"),
    path("rings/", views.rings, name="rings"),
]
