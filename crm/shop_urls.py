from django.urls import path

from crm import views

app_name = "shop"
urlpatterns = [
    path("settings/shop/", views.shop_settings, name="settings"),
]
