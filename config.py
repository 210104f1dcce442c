"""Configuration read from the environment, with defaults that make `make run` work.

Only `Config` is used by the app factory; tests pass overrides to `create_app`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"
DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production below
DEV_AUDIT_KEY = "dev-only-audit-key"  # noqa: S105 - refused in production below


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite:///{INSTANCE / 'cm.sqlite3'}"
    # Accept the postgres:// and postgresql:// spellings hosting providers hand out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """SQLAlchemy engine options for `url`: a sized, persistent pool on PostgreSQL.

    Connecting per request cost about 7x the throughput on PostgreSQL (measured on
    this app), so each process keeps its connections. One request holds one
    connection, so a gunicorn worker needs as many as it has threads; the small
    overflow absorbs a burst instead of failing it. Every process is then bounded by
    pool_size + max_overflow, and hosts x WEB_CONCURRENCY x (DB_POOL_SIZE +
    DB_MAX_OVERFLOW) + schedulers must stay below PostgreSQL's max_connections (100
    by default, 3 of them reserved for superusers).

    SQLite keeps SQLAlchemy's own defaults: extensions.py sets WAL and BEGIN
    IMMEDIATE per connection, and a pool size means nothing to a local file.
    """
    if not url.startswith("postgresql"):
        return {}
    threads = int(env.get("GUNICORN_THREADS", "1"))
    return {
        "pool_size": int(env.get("DB_POOL_SIZE", str(max(threads, 1)))),
        "max_overflow": int(env.get("DB_MAX_OVERFLOW", "2")),
        # A connection the server, a proxy or a firewall dropped while idle (database
        # restart, fail-over) is replaced before use instead of failing a request.
        "pool_pre_ping": True,
        # Below the idle timeouts of the usual load balancers and PgBouncer.
        "pool_recycle": int(env.get("DB_POOL_RECYCLE", "1800")),
        # Give up well before gunicorn's 30 s worker timeout when the pool is empty.
        "pool_timeout": int(env.get("DB_POOL_TIMEOUT", "10")),
    }


def tax_thresholds(text: str) -> dict[int, int]:
    """TAX_THRESHOLDS, e.g. "2027=2100.00,2028=2150": year -> cents (docs/funding.md);
    years not named keep the defaults ($600 through 2025, $2,000 after)."""
    found = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        year, _, dollars = pair.partition("=")
        whole, _, cents = dollars.strip().partition(".")
        found[int(year)] = int(whole) * 100 + int((cents or "0").ljust(2, "0")[:2])
    return found


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = engine_options(SQLALCHEMY_DATABASE_URI)
    # Draw outcomes are HMAC(DRAW_SECRET, draw reference): replayable by an auditor who
    # holds the secret, unpredictable to anyone who does not.
    DRAW_SECRET = os.environ.get("DRAW_SECRET", SECRET_KEY)
    # The audit chain's HMAC key: kept out of the database, so someone who can write
    # to it cannot recompute the chain after editing a row.
    AUDIT_KEY = os.environ.get("AUDIT_KEY", DEV_AUDIT_KEY)
    # The largest legitimate body is a lab CSV of 20,000 lines (results_import); a
    # bigger one is refused (413) before it is read. Forms stay under Werkzeug's
    # own 500 kB field memory limit.
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    CM_ENV = os.environ.get("CM_ENV", "development")  # "production" enables the checks
    ALLOW_SQLITE_IN_PRODUCTION = os.environ.get("ALLOW_SQLITE_IN_PRODUCTION") == "1"
    # argon2id at the OWASP minimum (t=2, m=19 MiB, p=1); tests lower it.
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "2"))
    ARGON2_MEMORY_KIB = int(os.environ.get("ARGON2_MEMORY_KIB", str(19 * 1024)))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = CM_ENV == "production"
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session, which times out
    # Reminders (docs/reminders.md). E-mail goes by SMTP when SMTP_HOST is set and
    # is printed by the console backend otherwise; text messages are printed
    # unless REMINDER_SMS_BACKEND=twilio. Nothing is sent anywhere under `make run`.
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_FROM = os.environ.get("SMTP_FROM", "reminders@localhost")
    SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "1") != "0"
    REMINDER_EMAIL_BACKEND = os.environ.get("REMINDER_EMAIL_BACKEND", "")
    REMINDER_SMS_BACKEND = os.environ.get("REMINDER_SMS_BACKEND", "console")
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_FROM = os.environ.get("TWILIO_FROM", "")
    TWILIO_BASE_URL = os.environ.get("TWILIO_BASE_URL", "https://api.twilio.com")
    # The public URL of the STOP webhook as the provider calls it (its signature
    # covers the URL); by default the URL of the request as it arrives.
    SMS_WEBHOOK_URL = os.environ.get("SMS_WEBHOOK_URL", "")
    # The tax-threshold report (docs/funding.md): the information-return threshold
    # per calendar year, and from what share of it a participant is "approaching".
    TAX_THRESHOLDS_CENTS = tax_thresholds(os.environ.get("TAX_THRESHOLDS", ""))
    TAX_APPROACHING_PERCENT = int(os.environ.get("TAX_APPROACHING_PERCENT", "80"))
    REMINDER_EVENING_HOUR = int(os.environ.get("REMINDER_EVENING_HOUR", "18"))
    REMINDER_MAX_ATTEMPTS = int(os.environ.get("REMINDER_MAX_ATTEMPTS", "5"))
    REMINDER_SENDING_TIMEOUT_MINUTES = float(
        os.environ.get("REMINDER_SENDING_TIMEOUT_MINUTES", "10")
    )
