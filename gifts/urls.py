from django.urls import path

from gifts import views

app_name = "gifts"
urlpatterns = [
    path("redeem/", views.redeem, name="redeem"),
    path("customer/<int:customer_id>/", views.customer_gifts, name="customer"),
    path("customer/<int:customer_id>/issue/", views.issue, name="issue"),
    path("customer/<int:customer_id>/codes/<int:gift_id>/redeem/", views.card_redeem, name="card_redeem"),
]
