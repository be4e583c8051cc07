"""The JSON API: keys and scopes, the pages' validation and services, idempotency, paging, throttling."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import ApiKey, IdempotencyRecord
from api.services import api_key_hash, api_key_revoke
from automations.models import OutboundMessage
from customers.models import Customer, FollowUp
from tests.factories import CustomerFactory, FollowUpFactory, GiftCodeFactory, ProductFactory, TagFactory
from tills.models import TillPurchase
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log

pytestmark = pytest.mark.django_db


# --- Keys and scopes -------------------------------------------------------------------------------


def test_a_key_is_stored_only_as_its_hash(key_and_raw):
    key, raw = key_and_raw

    stored = ApiKey.objects.get(pk=key.pk)
    assert raw not in (stored.prefix, stored.key_hash, str(stored.scopes))
    assert stored.key_hash == api_key_hash(raw)


def test_a_request_without_a_key_gets_401_with_the_error_body(client):
    response = client.get("/api/v1/customers/")

    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_revoked_key_stops_working_at_once(api, key_and_raw):
    assert api.get("/api/v1/customers/").status_code == 200

    api_key_revoke(api_key=key_and_raw[0])

    assert api.get("/api/v1/customers/").status_code == 401


def test_a_read_only_key_cannot_write(read_only_api):
    response = read_only_api.post("/api/v1/customers/", {"first_name": "Ann"})

    assert response.status_code == 403
    assert "write" in response.json()["error"]["message"]
    assert not Customer.objects.exists()


def test_a_key_records_when_it_was_last_used(api, key_and_raw):
    api.get("/api/v1/customers/")

    assert ApiKey.objects.get(pk=key_and_raw[0].pk).last_used_at is not None


# --- Customers ---------------------------------------------------------------------------------


def test_a_search_lists_favourites_and_tags_a_to_z_read_with_the_customers_in_one_query(api):
    for n in range(12):
        customer = CustomerFactory(first_name=f"Ann{n}", last_name="Lovelace")
        customer.favourite_products.set([ProductFactory(name=f"Tea {n}"), ProductFactory(name=f"Coffee {n}")])
        customer.tags.set([TagFactory(name=f"vip {n}"), TagFactory(name=f"regular {n}")])

    with CaptureQueriesContext(connection) as queries:
        found = api.get("/api/v1/customers/", {"q": "Lovelace"}).json()["results"]

    # One statement reads the rows with both lists (two prefetches built a manager per customer and list).
    reads = [
        q["sql"] for q in queries.captured_queries if '"customers_tag"' in q["sql"] or '"customers_product"' in q["sql"]
    ]
    assert len(reads) == 1
    assert len(found) == 12
    ann = next(row for row in found if row["first_name"] == "Ann3")
    assert ann["favourite_products"] == ["Coffee 3", "Tea 3"] and ann["tags"] == ["regular 3", "vip 3"]
    assert api.get(f"/api/v1/customers/{ann['id']}/").json()["tags"] == ["regular 3", "vip 3"]


def test_creating_a_customer_goes_through_the_service_and_history_names_the_key(api, owner):
    response = api.post(
        "/api/v1/customers/",
        {"first_name": "Ann", "email": "ANN@Mail.Example", "phone": "07700 900123", "tags": ["regular"]},
    )

    assert response.status_code == 201, response.json()
    ann = Customer.objects.get()
    # The service's rules: email lowercased, phone in E.164, the owner by default.
    assert (ann.email, ann.phone, ann.owner) == ("ann@mail.example", "+447700900123", owner)
    assert response.json()["tags"] == ["regular"]
    record = ann.history.latest()
    assert (record.history_user, record.history_change_reason) == (owner, "via API key Till")


def test_bad_customer_input_gets_the_forms_field_errors_and_changes_nothing(api):
    CustomerFactory(email="taken@mail.example")

    response = api.post(
        "/api/v1/customers/",
        {
            "first_name": "Ann",
            "email": "taken@mail.example",
            "birthday_day": 30,
            "birthday_month": 2,
            "email_consent": True,
        },
    )

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["email"] == ["Another customer already has this email address."]
    assert fields["consent_method"] == ["Say how they agreed."]
    assert Customer.objects.count() == 1


def test_thirty_february_is_refused_as_on_the_page(api):
    response = api.post("/api/v1/customers/", {"first_name": "Ann", "birthday_day": 30, "birthday_month": 2})

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["birthday_day"] == ["February has no day 30."]


def test_a_patch_changes_only_the_fields_sent(api):
    ann = CustomerFactory(first_name="Ann", last_name="Smith", notes="Likes oat milk")

    response = api.patch(f"/api/v1/customers/{ann.pk}/", {"preferred_name": "Annie"})

    assert response.status_code == 200, response.json()
    ann.refresh_from_db()
    assert (ann.preferred_name, ann.last_name, ann.notes) == ("Annie", "Smith", "Likes oat milk")
    assert ann.history.latest().history_change_reason == "via API key Till"


def test_customers_come_a_page_at_a_time_and_next_walks_them_all(api, django_assert_max_num_queries, settings):
    # The throttle's counts in memory: without Redis the cache is a table, and its queries would count here.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CustomerFactory.create_batch(23)

    seen, url = [], "/api/v1/customers/?page_size=10"
    while url:
        with django_assert_max_num_queries(8):
            body = api.get(url).json()
        seen += [c["id"] for c in body["results"]]
        url = body["next"]

    assert sorted(seen) == sorted(Customer.objects.values_list("pk", flat=True))


def test_search_finds_customers_as_the_search_box_does(api):
    CustomerFactory(first_name="Ann", last_name="Smithson")
    CustomerFactory(first_name="Bob", last_name="Jones")

    body = api.get("/api/v1/customers/", {"q": "smith"}).json()

    assert [c["last_name"] for c in body["results"]] == ["Smithson"]


def test_updated_since_lists_only_customers_changed_since(api, time_machine):
    time_machine.move_to("2026-11-01T10:00:00Z", tick=False)
    CustomerFactory(first_name="Old")
    time_machine.move_to("2026-11-20T10:00:00Z", tick=False)
    CustomerFactory(first_name="New")

    body = api.get("/api/v1/customers/", {"updated_since": "2026-11-10T00:00:00Z"}).json()

    assert [c["first_name"] for c in body["results"]] == ["New"]


def test_an_unknown_customer_is_a_404_with_the_error_body(api):
    response = api.get("/api/v1/customers/999999/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- Idempotency ---------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_answer_the_first_result(api):
    headers = {"Idempotency-Key": "create-ann-1"}

    first = api.post("/api/v1/customers/", {"first_name": "Ann"}, headers=headers)
    again = api.post("/api/v1/customers/", {"first_name": "Ann"}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_409(api):
    headers = {"Idempotency-Key": "create-ann-2"}
    api.post("/api/v1/customers/", {"first_name": "Ann"}, headers=headers)

    response = api.post("/api/v1/customers/", {"first_name": "Bob"}, headers=headers)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert list(Customer.objects.values_list("first_name", flat=True)) == ["Ann"]


def test_a_refused_request_is_not_remembered_so_a_fixed_body_may_reuse_its_key(api):
    headers = {"Idempotency-Key": "create-3"}
    assert api.post("/api/v1/customers/", {"first_name": ""}, headers=headers).status_code == 400

    assert api.post("/api/v1/customers/", {"first_name": "Ann"}, headers=headers).status_code == 201
    assert IdempotencyRecord.objects.count() == 1


# --- Touchpoints and purchases ----------------------------------------------------------------------


def test_a_purchase_through_the_api_plans_the_loyalty_gift_as_at_the_counter(api):
    ann = CustomerFactory()
    for days in (4, 3, 2, 1):
        touchpoint_log(
            customer=ann,
            logged_by=None,
            kind="purchase",
            amount=Decimal("10"),
            happened_at=timezone.now() - timedelta(days=days),
        )

    response = api.post(
        "/api/v1/purchases/", {"customer": ann.pk, "external_id": "web-1001", "amount": "12.50", "products": ["Beans"]}
    )

    assert response.status_code == 201, response.json()
    touchpoint = Touchpoint.objects.filter(customer=ann).first()
    assert touchpoint.history.latest().history_change_reason == "via API key Till"
    ann.refresh_from_db()
    assert (ann.purchase_count, ann.lifetime_spend) == (5, Decimal("52.50"))
    assert OutboundMessage.objects.filter(customer=ann, kind="loyalty").count() == 1


def test_the_same_external_id_is_one_purchase(api):
    ann = CustomerFactory()
    body = {"customer": ann.pk, "external_id": "web-1002", "amount": "9.00", "currency": "usd"}

    assert api.post("/api/v1/purchases/", body).status_code == 201
    again = api.post("/api/v1/purchases/", body)

    assert again.status_code == 200 and again.json()["currency"] == "USD"
    assert TillPurchase.objects.count() == Touchpoint.objects.count() == 1


def test_a_purchase_for_nobody_is_a_field_error(api):
    response = api.post("/api/v1/purchases/", {"customer": 424242, "external_id": "x", "amount": "1"})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"customer": ["There is no customer with this id."]}


def test_logging_a_touchpoint_uses_the_touchpoint_forms_rules(api):
    ann = CustomerFactory()

    bad = api.post(f"/api/v1/customers/{ann.pk}/touchpoints/", {"kind": "feedback"})
    good = api.post(
        f"/api/v1/customers/{ann.pk}/touchpoints/",
        {"kind": "feedback", "feedback_kind": "complaint", "note": "Cold coffee"},
    )

    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"feedback_kind": ["Is it praise, a complaint or an idea?"]}
    assert good.status_code == 201
    # The complaint opened its "make it right" follow-up, as on the card.
    assert FollowUp.objects.filter(customer=ann, source="complaint").count() == 1
    listed = api.get(f"/api/v1/customers/{ann.pk}/touchpoints/").json()["results"]
    assert [t["kind"] for t in listed] == ["feedback"]


# --- Gift codes and follow-ups ------------------------------------------------------------------------


def test_a_gift_code_is_looked_up_and_redeemed_once(api):
    gift = GiftCodeFactory()

    looked = api.get(f"/api/v1/gift-codes/{gift.code.lower()}/")
    first = api.post(f"/api/v1/gift-codes/{gift.code}/redeem/")
    second = api.post(f"/api/v1/gift-codes/{gift.code}/redeem/")

    assert looked.status_code == 200 and looked.json()["status"] == "valid"
    assert first.status_code == 200 and first.json()["status"] == "redeemed"
    assert second.status_code == 400
    assert "already" in second.json()["error"]["message"] + str(second.json()["error"]["fields"])


def test_a_key_without_the_redeem_scope_cannot_redeem(read_only_api):
    gift = GiftCodeFactory()

    assert read_only_api.post(f"/api/v1/gift-codes/{gift.code}/redeem/").status_code == 403


def test_follow_ups_are_listed_opened_and_completed(api, owner):
    ann = CustomerFactory()
    FollowUpFactory(customer=ann, status="done")

    opened = api.post(
        "/api/v1/followups/", {"customer": ann.pk, "reason": "Call about the order", "due_date": "2026-12-24"}
    )
    followup_id = opened.json()["id"]
    listed = api.get("/api/v1/followups/", {"status": "open", "customer": ann.pk}).json()["results"]
    done = api.post(f"/api/v1/followups/{followup_id}/complete/")
    again = api.post(f"/api/v1/followups/{followup_id}/complete/")

    assert opened.status_code == 201
    assert [f["id"] for f in listed] == [followup_id]
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert again.status_code == 400
    assert FollowUp.objects.get(pk=followup_id).history.latest().history_change_reason == "via API key Till"


# --- Throttling ------------------------------------------------------------------------------------------


def test_each_key_is_throttled_on_its_own(api, read_only_api, settings):
    settings.API_THROTTLE_RATE = "3/min"

    answers = [api.get("/api/v1/customers/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    assert api.get("/api/v1/customers/").json()["error"]["code"] == "throttled"
    assert read_only_api.get("/api/v1/customers/").status_code == 200


# --- Schema and the owner's pages ----------------------------------------------------------------------


def test_the_schema_is_served_to_a_key_and_to_the_owner_but_not_to_anyone(api, client, owner, staff):
    assert api.get("/api/v1/schema/").status_code == 200
    client.force_login(staff)
    assert client.get("/api/v1/schema/").status_code == 403
    client.force_login(owner)
    assert client.get("/api/v1/schema/").status_code == 200


def test_the_docs_page_lists_every_operation_for_the_owner_only(client, owner, staff):
    client.force_login(staff)
    assert client.get("/api/v1/docs/").status_code == 403

    client.force_login(owner)
    page = client.get("/api/v1/docs/").content.decode()

    for path in (
        "/api/v1/customers/",
        "/api/v1/purchases/",
        "/api/v1/gift-codes/{code}/redeem/",
        "/api/v1/followups/{followup_id}/complete/",
    ):
        assert path in page
    # The page works offline: every script and stylesheet is served by the app itself
    # (a bare "cdn" search once matched a random CSRF token).
    loaded_from = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', page)
    assert loaded_from and all(url.startswith("/static/") for url in loaded_from)


def test_the_owner_creates_a_key_sees_it_once_and_revokes_it(client, owner):
    client.force_login(owner)

    page = client.post("/settings/api-keys/", {"name": "Website", "scopes": ["read", "write"]}).content.decode()

    key = ApiKey.objects.get(name="Website")
    assert f"rk_{key.prefix}_" in page  # the whole key, this once
    assert f"rk_{key.prefix}_" not in client.get("/settings/api-keys/").content.decode().replace(
        f"rk_{key.prefix}_…", ""
    )
    client.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_a_key_needs_a_name_and_a_scope(client, owner):
    client.force_login(owner)

    response = client.post("/settings/api-keys/", {"name": "", "scopes": []})

    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_staff_cannot_manage_keys(client, staff):
    client.force_login(staff)

    assert client.get("/settings/api-keys/").status_code == 403
    assert client.post("/settings/api-keys/", {"name": "x", "scopes": ["read"]}).status_code == 403
    assert not ApiKey.objects.exists()
