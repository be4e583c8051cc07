from django.urls import path

from mailevents import views

app_name = "mailevents"
urlpatterns = [
    path("mail/webhooks/<slug:provider>/<str:direction>/", views.webhook, name="webhook"),
    path("calendar/", views.calendar_settings, name="calendar_settings"),
    path("calendar/revoke/", views.calendar_revoke, name="calendar_revoke"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
