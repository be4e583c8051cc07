"""Schemathesis against the OpenAPI schema: every operation, generated bodies and parameters (hostile
strings included), no 500 and no answer that breaks the schema."""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.services import api_key_create
from crm.wsgi import application
from tests.factories import CustomerFactory, FollowUpFactory, GiftCodeFactory

# A few examples per operation keep the whole run well under a minute.
EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def raw_key(db, owner) -> str:
    # Something to find, so reads and writes reach past the 404s.
    customer = CustomerFactory(pk=1)
    FollowUpFactory(pk=1, customer=customer)
    GiftCodeFactory(customer=customer)
    return api_key_create(name="Fuzz", scopes=["read", "write", "redeem"], created_by=owner)[1]


@pytest.fixture
def _keep_test_connection():
    """The WSGI app would close the test's database connection after each request (Django's test client
    disconnects the same handlers while it runs a request)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _schema_json() -> dict:
    """The schema /api/v1/schema/ serves, built without a request (collection time has no database)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(_schema_json())
schema.app = application


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_no_operation_answers_500_or_breaks_its_schema(case, raw_key, _keep_test_connection):
    case.call_and_validate(headers={"Authorization": f"Bearer {raw_key}"}, checks=CHECKS)
