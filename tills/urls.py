from django.urls import path

from tills import views

app_name = "tills"
urlpatterns = [
    path("integrations/square/", views.square_webhook, name="square_webhook"),
    path("integrations/shopify/", views.shopify_webhook, name="shopify_webhook"),
    path("till/inbox/", views.inbox, name="inbox"),
    path("till/inbox/<int:purchase_id>/attach/", views.inbox_attach, name="attach"),
    path("till/inbox/<int:purchase_id>/create/", views.inbox_create, name="create"),
    path("till/inbox/<int:purchase_id>/dismiss/", views.inbox_dismiss, name="dismiss"),
    path("settings/till/", views.connect, name="connect"),
]
