"""Start-up safety checks, cookie settings, and the security headers on every
response."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import DEV_AUDIT_KEY, DEV_SECRET_KEY

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
    if config.get("AUDIT_KEY") in (None, "", DEV_AUDIT_KEY):
        raise UnsafeConfiguration("set AUDIT_KEY: production refuses the dev audit key")
    uri = str(config.get("SQLALCHEMY_DATABASE_URI", ""))
    if uri.startswith("sqlite") and not config.get("ALLOW_SQLITE_IN_PRODUCTION"):
        raise UnsafeConfiguration(
            "production uses PostgreSQL (DATABASE_URL); "
            "set ALLOW_SQLITE_IN_PRODUCTION=1 to override"
        )
    twilio = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
    if config.get("REMINDER_SMS_BACKEND") == "twilio" and not all(
        config.get(name) for name in twilio
    ):
        raise UnsafeConfiguration(
            "REMINDER_SMS_BACKEND=twilio needs " + ", ".join(twilio)
        )


HSTS = "max-age=31536000; includeSubDomains"


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Only over HTTPS (RFC 6797 8.1: ignored over plain HTTP); behind a proxy,
    # is_secure reads X-Forwarded-Proto only when TRUSTED_PROXIES says to.
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    # Pages, JSON and CSV exports may hold health data: no shared or browser cache may
    # keep any of them. Only the static assets (no participant data) may be cached.
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _trusted_proxies(app: Flask) -> int:
    """How many reverse proxies in front of the app set X-Forwarded-* (0: none, so
    the headers are ignored and nobody can claim to be on HTTPS or another IP)."""
    app.config.setdefault(
        "TRUSTED_PROXIES", int(os.environ.get("TRUSTED_PROXIES", "0") or 0)
    )
    return int(app.config["TRUSTED_PROXIES"])


def init_app(app: Flask) -> None:
    if app.config.get("CM_ENV") == "production":
        # config.Config sets Secure from the environment at import; a production app
        # built any other way (overrides, a test) must not send a cookie over HTTP.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
        if app.config.get("SESSION_COOKIE_NAME", "session") == "session":
            # ASVS 3.3.3: a __Host- cookie is Secure, host-only and for path "/".
            app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    proxies = _trusted_proxies(app)
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    app.after_request(_headers)
