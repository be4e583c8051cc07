import json

import pytest
from django.core.cache import cache

from api.services import api_key_create


class Api:
    """Django's test client speaking JSON with an API key."""

    def __init__(self, client, raw_key: str):
        self.client, self.raw_key = client, raw_key

    def _headers(self, headers: dict | None) -> dict:
        return {"Authorization": f"Bearer {self.raw_key}", **(headers or {})}

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body=None, headers: dict | None = None):
        data = json.dumps(body) if body is not None else ""
        return self.client.post(path, data=data, content_type="application/json", headers=self._headers(headers))

    def patch(self, path: str, body: dict, headers: dict | None = None):
        return self.client.patch(
            path, data=json.dumps(body), content_type="application/json", headers=self._headers(headers)
        )


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def key_and_raw(owner):
    return api_key_create(name="Till", scopes=["read", "write", "redeem"], created_by=owner)


@pytest.fixture
def api(client, key_and_raw):
    return Api(client, key_and_raw[1])


@pytest.fixture
def read_only_api(client, owner):
    _, raw = api_key_create(name="Reports", scopes=["read"], created_by=owner)
    return Api(client, raw)
