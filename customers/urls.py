from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("", views.my_day, name="my_day"),
    path("my-day/follow-ups/", views.my_day_followups, name="my_followups"),
    path("my-day/birthdays/", views.my_day_birthdays, name="my_birthdays"),
    path("customers/", views.customer_list_view, name="list"),
    path("customers/new/", views.customer_create, name="create"),
    path("customers/search/", views.customer_search_view, name="search"),
    path("customers/<int:customer_id>/", views.customer_detail, name="detail"),
    path("customers/<int:customer_id>/edit/", views.customer_update, name="update"),
    path("customers/<int:customer_id>/archive/", views.customer_archive, name="archive"),
    path("customers/<int:customer_id>/dates/", views.important_date_add, name="date_add"),
    path("customers/<int:customer_id>/dates/<int:date_id>/remove/", views.important_date_remove, name="date_remove"),
    path("customers/<int:customer_id>/followups/", views.followup_create, name="followup_create"),
    path("followups/<int:followup_id>/<str:action>/", views.followup_action, name="followup_action"),
]
