from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Password reset by email (accounts/password_reset.py): through the outbox, the owner told.
    path("", include("accounts.password_reset_urls")),
    path("admin/", admin.site.urls),
    # Django's default LOGIN_URL, which people (and password managers) try: send them to ours.
    path("accounts/login/", login_not_required(RedirectView.as_view(pattern_name="login", query_string=True))),
    path("accounts/", include("accounts.urls")),
    path("touchpoints/", include("touchpoints.urls")),
    path("gifts/", include("gifts.urls")),
    path("automations/", include("automations.urls")),
    path("community/", include("community.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("data/", include("dataio.urls")),
    path("", include("mailevents.urls")),
    path("", include("crm.shop_urls")),
    path("api/v1/", include("api.urls")),
    path("", include("api.page_urls")),
    path("", include("tills.urls")),
    path("", include("customers.urls")),
]

# Friendly error pages in the shop's look (crm/errors.py); 500 becomes 503 when PostgreSQL is unreachable.
handler400 = "crm.errors.bad_request"
handler403 = "crm.errors.permission_denied"
handler404 = "crm.errors.page_not_found"
handler500 = "crm.errors.server_error"
