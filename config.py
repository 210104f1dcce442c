"""Configuration read from the environment, with defaults that make `make run` work.

Only `Config` is used by the app factory; tests pass overrides to `create_app`.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"
DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production below


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite:///{INSTANCE / 'cm.sqlite3'}"
    # Accept the postgres:// and postgresql:// spellings hosting providers hand out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url()
    # Draw outcomes are HMAC(DRAW_SECRET, draw reference): replayable by an auditor who
    # holds the secret, unpredictable to anyone who does not.
    DRAW_SECRET = os.environ.get("DRAW_SECRET", SECRET_KEY)
    CM_ENV = os.environ.get("CM_ENV", "development")  # "production" enables the checks
    ALLOW_SQLITE_IN_PRODUCTION = os.environ.get("ALLOW_SQLITE_IN_PRODUCTION") == "1"
    # argon2id at the OWASP minimum (t=2, m=19 MiB, p=1); tests lower it.
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "2"))
    ARGON2_MEMORY_KIB = int(os.environ.get("ARGON2_MEMORY_KIB", str(19 * 1024)))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = CM_ENV == "production"
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session, which times out
