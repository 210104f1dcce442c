"""The production layout tests' environment: the parent shell's settings scrubbed."""

from __future__ import annotations

import os

# Settings the parent shell might hold that would change what is being tested.
_SCRUBBED = (
    "CM_ENV",
    "SECRET_KEY",
    "DRAW_SECRET",
    "AUDIT_KEY",
    "DATABASE_URL",
    "ALLOW_SQLITE_IN_PRODUCTION",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_BIND",
    "GUNICORN_CMD_ARGS",
    "PORT",
    "TRUSTED_PROXIES",
)


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    return {**env, "PYTHONUNBUFFERED": "1", **settings}
