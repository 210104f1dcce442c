"""Start-up safety checks and the security headers on every response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

from config import DEV_SECRET_KEY

# No inline script or style anywhere: every asset is served from 'self'.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class UnsafeConfiguration(RuntimeError):
    """The app was asked to run in production with a development setting."""


def check_production_config(config: Mapping[str, Any]) -> None:
    if config.get("CM_ENV") != "production":
        return
    if config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY):
        raise UnsafeConfiguration("set SECRET_KEY: production refuses the dev key")
    uri = str(config.get("SQLALCHEMY_DATABASE_URI", ""))
    if uri.startswith("sqlite") and not config.get("ALLOW_SQLITE_IN_PRODUCTION"):
        raise UnsafeConfiguration(
            "production uses PostgreSQL (DATABASE_URL); "
            "set ALLOW_SQLITE_IN_PRODUCTION=1 to override"
        )


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Pages may show health data; no shared or browser cache may keep them.
    if response.mimetype in ("text/html", "application/json"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)
