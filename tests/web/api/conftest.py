"""API fixtures: a JSON client, tokens of each role and clinic, a pinned clock."""

from __future__ import annotations

import pytest

from cm_service.services.access import api_tokens
from cm_service.services.access.actors import SYSTEM
from tests.support.clock import freeze
from tests.support.factories import NOW


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    freeze(monkeypatch, lambda: NOW)


class Api:
    """The test client with a bearer token: `api.post(path, json=...)`."""

    def __init__(self, client, secret: str | None) -> None:
        self.client, self.secret = client, secret

    def _headers(self, headers) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**auth, **(headers or {})}

    def get(self, path: str, headers=None):
        return self.client.get(f"/api/v1{path}", headers=self._headers(headers))

    def post(self, path: str, json=None, headers=None, data=None):
        return self.client.post(
            f"/api/v1{path}",
            json=json,
            data=data,
            headers=self._headers(headers),
        )


def make_token(clinic, role: str = "staff") -> str:
    _, secret = api_tokens.create_token(SYSTEM, clinic.id, role, now=NOW)
    return secret


@pytest.fixture
def api(app, clinic) -> Api:
    return Api(app.test_client(), make_token(clinic))


@pytest.fixture
def auditor_api(app, clinic) -> Api:
    return Api(app.test_client(), make_token(clinic, "auditor"))


@pytest.fixture
def other_api(app, other_clinic) -> Api:
    return Api(app.test_client(), make_token(other_clinic))
