from __future__ import annotations

import shutil
import signal
from pathlib import Path

import psycopg
import pytest

from config import DEV_SECRET_KEY
from tests.prod.serving import (
    ROOT,
    get,
    port_is_free,
    stop,
    wait_for,
    wait_until_serving,
)
from tests.support.prod import clean_env

SECURITY_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _connections(dsn: str) -> int:
    with psycopg.connect(dsn.rsplit("dbname=", 1)[0] + "dbname=postgres") as conn:
        database = dsn.rsplit("dbname=", 1)[1]
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchone()
    return row[0]


def test_gunicorn_serves_production_on_postgresql_and_stops_cleanly(
    gunicorn, pg_database
):
    url, dsn = pg_database
    env = clean_env(
        CM_ENV="production",
        SECRET_KEY="a-production-secret-for-tests",
        AUDIT_KEY="a-production-audit-key-for-tests",
        DATABASE_URL=url,
        WEB_CONCURRENCY="2",
    )
    proc, port, log = gunicorn(env)
    base = f"http://127.0.0.1:{port}"

    response = wait_until_serving(proc, f"{base}/staff/login", log)
    for name, expected in SECURITY_HEADERS.items():
        assert expected in (response.headers.get(name) or ""), name
    assert "Secure" in response.headers["Set-Cookie"]
    # Without TRUSTED_PROXIES nobody, not even a loopback peer, can claim HTTPS.
    claimed = get(f"{base}/staff/login", **{"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in claimed.headers
    # A query string may carry a participant's name or code: never logged. (A
    # clinic's login link also queries the database, for the clinic; an unknown
    # one is a 404.)
    assert get(f"{base}/me/login?code=P-SECRET-0042").status == 200
    unknown = "/me/no-such-clinic-k3v9xq/login"
    assert get(f"{base}{unknown}?code=P-SECRET-0043").status == 404
    wait_for(
        lambda: f'"GET {unknown} HTTP/1.1" 404' in log.read_text(),
        10,
        lambda: f"no access log line:\n{log.read_text()}",
    )
    assert '"GET /me/login HTTP/1.1" 200' in log.read_text()
    assert "P-SECRET-004" not in log.read_text()
    # Workers keep their connections (a pool, not a connection per request), and
    # within WEB_CONCURRENCY x (DB_POOL_SIZE + DB_MAX_OVERFLOW) = 2 x 3.
    assert 1 <= _connections(dsn) <= 6

    assert stop(proc, signal.SIGTERM) == 0
    assert port_is_free(port)
    wait_for(lambda: _connections(dsn) == 0, 10, lambda: "connections left open")
    assert "Shutting down: Master" in log.read_text()


REFUSALS = [
    pytest.param(
        {"DATABASE_URL": "postgresql://cm@/cm?host=/nonexistent"},
        "production refuses the dev key",
        id="no-secret-key",
    ),
    pytest.param(
        {
            "SECRET_KEY": DEV_SECRET_KEY,
            "DATABASE_URL": "postgresql://cm@/cm?host=/nonexistent",
        },
        "production refuses the dev key",
        id="dev-secret-key",
    ),
    pytest.param(
        {
            "SECRET_KEY": "a-production-secret-for-tests",
            "DATABASE_URL": "postgresql://cm@/cm?host=/nonexistent",
        },
        "production refuses the dev audit key",
        id="no-audit-key",
    ),
    pytest.param(
        {
            "SECRET_KEY": "a-production-secret-for-tests",
            "AUDIT_KEY": "a-production-audit-key-for-tests",
        },
        "production uses PostgreSQL",
        id="sqlite",
    ),
]


@pytest.mark.parametrize(("settings", "message"), REFUSALS)
def test_gunicorn_conf_refuses_production_with_development_settings(
    gunicorn, settings, message
):
    proc, port, log = gunicorn(clean_env(CM_ENV="production", **settings))

    assert proc.wait(30) == 1
    assert "cm-service refuses to start: " in log.read_text()
    assert message in log.read_text()
    assert "Listening at" not in log.read_text()


@pytest.mark.parametrize(("settings", "message"), REFUSALS)
def test_wsgi_refuses_production_with_development_settings_without_the_conf(
    gunicorn, tmp_path, settings, message
):
    # No gunicorn.conf.py in the working directory: only wsgi.py's create_app()
    # stands between a misconfigured deployment and serving.
    args = ("--no-control-socket", "--chdir", str(ROOT), "wsgi:app")
    proc, port, log = gunicorn(
        clean_env(CM_ENV="production", **settings), args, tmp_path
    )

    assert proc.wait(30) != 0
    assert message in log.read_text()
    assert "Worker failed to boot" in log.read_text()


def test_gunicorn_serves_sqlite_when_allowed_and_believes_a_trusted_proxy(
    gunicorn, sqlite_template, tmp_path
):
    database = tmp_path / "cm.sqlite3"
    shutil.copy(sqlite_template, database)
    env = clean_env(
        CM_ENV="production",
        SECRET_KEY="a-production-secret-for-tests",
        AUDIT_KEY="a-production-audit-key-for-tests",
        DATABASE_URL=f"sqlite:///{database}",
        ALLOW_SQLITE_IN_PRODUCTION="1",
        WEB_CONCURRENCY="1",
    )
    proc, port, log = gunicorn({**env, "TRUSTED_PROXIES": "1"})
    url = f"http://127.0.0.1:{port}/staff/login"

    wait_until_serving(proc, url, log)
    # TLS ends at the one trusted proxy, which says so; the app then sends HSTS.
    behind_tls = get(url, **{"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["Strict-Transport-Security"].startswith("max-age=")
    assert stop(proc) == 0
    assert Path(database).exists()
