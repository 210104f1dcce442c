"""The JSON API: a client that sends a bearer token, and tokens to send."""

from __future__ import annotations

from cm_service.services.access import api_tokens
from cm_service.services.access.actors import SYSTEM
from tests.support.factories import NOW


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
