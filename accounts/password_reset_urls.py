"""Password reset by email (accounts/password_reset.py); names without a namespace, as Django's views expect."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.password_reset import StaffPasswordResetView

urlpatterns = [
    path("password-reset/", StaffPasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"
    ),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
