"""Walk every URL pattern: anonymous users are sent to log in, staff get 403 on owner pages, nothing 500s.

Pages added later are covered automatically (the test iterates the URL resolver).
A new public page must be added to PUBLIC, a new owner-only page to OWNER_ONLY:
the test fails until it is, so the lists stay an explicit record of who may see what.
"""

import re

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

import tests.factories as factories
from tests.factories import CustomerFactory, FollowUpFactory, ImportantDateFactory, StaffFactory, TouchpointFactory

pytestmark = pytest.mark.django_db

# Pages anyone may open without logging in (the links in customers' emails).
PUBLIC = {
    "login",
    "logout",
    "automations:unsubscribe",
    "automations:unsubscribe_done",
    "community:profile",
    "community:profile_done",
    "community:rsvp",
    "community:rsvp_done",
    # issue 17: providers' webhooks (their own signature or basic auth) and the secret calendar feed URL
    "mailevents:webhook",
    "mailevents:calendar_feed",
    # the profile link's confirmation, new-link request and thank-you pages; password reset (issue 15)
    "community:profile_saved",
    "community:profile_confirm",
    "community:profile_link_request",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
# Pages only the owner may open: staff get 403 (on GET, or on POST for POST-only pages).
OWNER_ONLY = {
    # staff accounts (issue #3/#6)
    "accounts:staff_list",
    "accounts:staff_add",
    "accounts:staff_detail",
    "accounts:staff_active",
    "accounts:staff_password",
    "accounts:staff_handover",
    # data in and out, history
    "dataio:home",
    "dataio:import_upload",
    "dataio:import_detail",
    "dataio:import_progress",
    "dataio:import_start",
    "dataio:export_customers",
    "dataio:export_touchpoints",
    "dataio:customer_data",
    "dataio:customer_export",
    "dataio:customer_erase",
    "dataio:customer_history",
    "dataio:settings_history",
    # shop settings, automations and the outbox
    "shop:settings",
    "automations:settings",
    "automations:pause",
    "automations:automation_save",
    "automations:template_edit",
    "automations:template_preview",
    "automations:outbox",
    "automations:resend",
    "automations:resend_unknown",
    "automations:resend_failed",
    # the owner dashboard
    "dashboard:index",
    "dashboard:refresh",
    "dashboard:drifting_followup",
    # newsletters and organising events
    "community:newsletter_list",
    "community:newsletter_create",
    "community:newsletter_detail",
    "community:newsletter_edit",
    "community:newsletter_send",
    "community:newsletter_unschedule",
    "community:newsletter_test",
    "community:event_create",
    "community:event_edit",
    "community:event_invite",
}
OWNER_ONLY |= {"api:schema", "api_pages:keys", "api_pages:revoke", "api_pages:docs", "tills:connect"}
# The JSON API and the till webhooks take an API key or a vendor's signature, never a login: anonymous
# requests get 401 (or 405 for a GET of a webhook), not the login page.
NOT_BY_LOGIN = {
    "api:schema",
    "api:customers",
    "api:customer",
    "api:touchpoints",
    "api:purchases",
    "api:gift_code",
    "api:gift_code_redeem",
    "api:followups",
    "api:followup_complete",
    "tills:square_webhook",
    "tills:shopify_webhook",
}
# Django's admin has its own login page and permission system.
SKIP_NAMESPACES = ("admin",)


def walk(patterns, prefix: str = "", namespace: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full_ns = f"{namespace}:{ns}".strip(":") if ns else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), full_ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}".strip(":") if entry.name else ""
            yield name, prefix + str(entry.pattern), entry


def is_owner_only(name: str) -> bool:
    return name in OWNER_ONLY


def is_public(name: str) -> bool:
    return name in PUBLIC


def _model_named(stem: str):
    stem = stem.replace("_", "").lower()
    for model in apps.get_models():
        if model._meta.model_name == stem or model._meta.model_name.endswith(stem):
            return model
    return None


class Samples:
    """Sample ids for URL arguments, made by the factories (others' factories too, if they exist)."""

    def __init__(self, staff):
        self.customer = CustomerFactory(owner=staff)
        self.values = {
            "customer_id": self.customer.pk,
            "user_id": StaffFactory().pk,
            "followup_id": FollowUpFactory(customer=self.customer).pk,
            "touchpoint_id": TouchpointFactory(customer=self.customer).pk,
            "date_id": ImportantDateFactory(customer=self.customer).pk,
        }

    def value(self, name: str, converter: str) -> str:
        if converter in ("int", "pk") or name.endswith("_id") or name == "pk":
            if name not in self.values:
                self.values[name] = self._make(name)
            return str(self.values[name])
        if name == "action":
            return "done"
        return "not-a-real-token"

    def _make(self, name: str) -> int:
        model = _model_named(name.removesuffix("_id"))
        if model is None:
            return 999999
        existing = model._default_manager.order_by("pk").first()
        if existing is not None:
            return existing.pk
        factory = getattr(factories, f"{model.__name__}Factory", None)
        if factory is not None:
            try:
                kwargs = {"customer": self.customer} if any(f.name == "customer" for f in model._meta.fields) else {}
                return factory(**kwargs).pk
            except Exception:  # noqa: BLE001 - a factory that needs more: the page then answers 404
                pass
        return 999999


ARG = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def build(route: str, samples: Samples) -> str:
    path = ARG.sub(lambda m: samples.value(m["name"], m["converter"] or "str"), route)
    path = path.lstrip("^").rstrip("$").replace("\\", "")
    return "/" + path


def url_list(samples: Samples):
    urls = []
    for name, route, _ in walk(get_resolver().url_patterns):
        if not name or name.split(":")[0] in SKIP_NAMESPACES or "(?P" in route:
            continue
        urls.append((name, build(route, samples)))
    assert len(urls) > 20, "the resolver walk found too few URLs"
    return urls


def test_every_page_needs_a_login_except_the_public_ones(client, staff):
    problems = []
    for name, url in url_list(Samples(staff)):
        response = client.get(url)
        if response.status_code >= 500:
            problems.append(f"{name} {url}: anonymous got {response.status_code}")
        elif is_public(name):
            continue
        elif name in NOT_BY_LOGIN:
            if response.status_code not in (401, 405):
                problems.append(f"{name} {url}: anonymous got {response.status_code}, expected 401 or 405")
        elif not (response.status_code == 302 and response.url.startswith("/login/")):
            problems.append(f"{name} {url}: anonymous got {response.status_code}, expected a redirect to log in")
    assert not problems, "\n".join(problems)


def test_staff_get_403_on_owner_pages_and_only_there(client, staff, owner):
    problems = []
    for name, url in url_list(Samples(staff)):
        client.force_login(staff)
        response = client.get(url)
        if response.status_code == 405:  # a POST-only page: the permission is checked on POST
            response = client.post(url)
        if response.status_code >= 500:
            problems.append(f"{name} {url}: staff got {response.status_code}")
        elif is_owner_only(name) and response.status_code == 404 and "999999" in url:
            continue  # no sample object could be made for this URL; the id is missing for everyone
        elif is_owner_only(name) and response.status_code != 403:
            problems.append(f"{name} {url}: staff got {response.status_code} on an owner-only page")
        elif not is_owner_only(name) and not is_public(name) and response.status_code == 403:
            problems.append(f"{name} {url}: staff got 403; if it is owner-only, add it to OWNER_ONLY")
    assert not problems, "\n".join(problems)


def test_no_page_answers_500_to_the_owner_on_get_or_an_empty_post(client, staff, owner):
    problems = []
    for name, url in url_list(Samples(staff)):
        for method in ("get", "post"):
            if name == "logout":
                continue
            client.force_login(owner)
            response = getattr(client, method)(url)
            if response.status_code >= 500 or (method == "get" and response.status_code == 403):
                problems.append(f"{name} {url}: owner {method.upper()} got {response.status_code}")
    assert not problems, "\n".join(problems)


def test_an_unknown_page_gets_the_friendly_404(client, owner):
    client.force_login(owner)
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and "We could not find that page" in response.content.decode()


def test_a_forged_id_in_a_link_gets_a_404_not_a_500(client, owner):
    client.force_login(owner)
    for url in ("/data/customers/999999/", "/data/import/999999/", "/accounts/staff/999999/"):
        assert client.get(url).status_code == 404
