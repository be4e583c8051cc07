from django.urls import path

from api import pages

app_name = "api_pages"
urlpatterns = [
    path("settings/api-keys/", pages.api_keys, name="keys"),
    path("settings/api-keys/<int:key_id>/revoke/", pages.api_key_revoke_view, name="revoke"),
    path("api/v1/docs/", pages.api_docs, name="docs"),
]
