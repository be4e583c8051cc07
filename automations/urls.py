from django.urls import path

from automations import views

app_name = "automations"
urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("pause/", views.pause_toggle, name="pause"),
    path("settings/<slug:kind>/", views.automation_save, name="automation_save"),
    path("templates/<slug:kind>/", views.template_edit, name="template_edit"),
    path("templates/<slug:kind>/preview/", views.template_preview, name="template_preview"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/resend/", views.message_resend_view, name="resend"),
    path("outbox/<int:pk>/resend-unknown/", views.message_resend_unknown_view, name="resend_unknown"),
    path("outbox/resend-failed/", views.outbox_resend_failed_view, name="resend_failed"),
    path("review/", views.review_queue, name="review"),
    path("review/<int:pk>/<slug:decision>/", views.review_decide, name="review_decide"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
