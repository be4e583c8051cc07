from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/add/", views.staff_add, name="staff_add"),
    path("staff/<int:user_id>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:user_id>/active/", views.staff_active, name="staff_active"),
    path("staff/<int:user_id>/password/", views.staff_password, name="staff_password"),
    path("staff/<int:user_id>/handover/", views.staff_handover_view, name="staff_handover"),
]
