"""How an API request proves who it is (a key), what it may do (its scopes), and how often (throttle)."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from api.models import ApiKey
from api.services import api_key_check
from crm.roles import is_owner


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer rk_…`; the request acts as the owner who created the key."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme != self.keyword or not raw.strip():
            raise exceptions.AuthenticationFailed("Send the key as “Authorization: Bearer <key>”.")
        key = api_key_check(raw.strip())
        if key is None or not key.created_by.is_active:
            raise exceptions.AuthenticationFailed("This API key is unknown or has been revoked.")
        return key.created_by, key

    def authenticate_header(self, request) -> str:
        return self.keyword


class HasScope(permissions.BasePermission):
    """The key has the scope the view names for this method (`scopes = {"GET": "read", …}`)."""

    message = "This API key does not have the scope this needs."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        needed = getattr(view, "scopes", {}).get(
            request.method, "read" if request.method in ("GET", "HEAD") else "write"
        )
        if not key.has_scope(needed):
            self.message = f"This API key needs the “{needed}” scope for this."
            return False
        return True


class OwnerOrKey(permissions.BasePermission):
    """The schema: any valid key, or the owner logged in to the pages."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey) or is_owner(request.user)


class KeyRateThrottle(throttling.SimpleRateThrottle):
    """Requests per key (API_THROTTLE_RATE, e.g. "600/min"), counted in the shared cache (Redis)."""

    scope = "api_key"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return f"throttle_api_key_{request.auth.pk}"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the schema describes ApiKeyAuthentication: a bearer token."""

    target_class = "api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer", "description": "An API key from Manage → API keys."}
