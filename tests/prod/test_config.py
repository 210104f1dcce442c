from __future__ import annotations

import runpy

import pytest

from config import engine_options
from tests.prod.serving import ROOT

PG = "postgresql+psycopg://cm@/cm?host=/run/cm"


def test_sqlite_keeps_sqlalchemys_own_engine_settings():
    assert engine_options("sqlite:////tmp/cm.sqlite3", {"DB_POOL_SIZE": "9"}) == {}


def test_postgresql_gets_a_small_persistent_pre_pinged_pool_by_default():
    assert engine_options(PG, {}) == {
        "pool_size": 1,
        "max_overflow": 2,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "pool_timeout": 10,
    }


def test_the_pool_follows_the_worker_threads_unless_set():
    assert engine_options(PG, {"GUNICORN_THREADS": "4"})["pool_size"] == 4
    options = engine_options(
        PG,
        {
            "GUNICORN_THREADS": "4",
            "DB_POOL_SIZE": "6",
            "DB_MAX_OVERFLOW": "0",
            "DB_POOL_RECYCLE": "300",
            "DB_POOL_TIMEOUT": "5",
        },
    )
    assert (options["pool_size"], options["max_overflow"]) == (6, 0)
    assert (options["pool_recycle"], options["pool_timeout"]) == (300, 5)


@pytest.fixture
def gunicorn_conf(monkeypatch):
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND", "PORT"):
        monkeypatch.delenv(name, raising=False)

    def load(**env: str) -> dict:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    return load


def test_gunicorn_conf_defaults_to_loopback_sync_workers_without_preload(
    gunicorn_conf,
):
    conf = gunicorn_conf()

    assert conf["bind"] == ["127.0.0.1:8000"]
    assert 2 <= conf["workers"] <= 8
    assert conf["threads"] == 1
    assert conf["preload_app"] is False
    assert conf["control_socket_disable"] is True
    # X-Forwarded-Proto is the app's call (TRUSTED_PROXIES), not gunicorn's.
    assert conf["secure_scheme_headers"] == {}
    assert conf["forwarded_allow_ips"] == ""


def test_gunicorn_conf_reads_workers_threads_and_bind_from_the_environment(
    gunicorn_conf,
):
    conf = gunicorn_conf(
        WEB_CONCURRENCY="5", GUNICORN_THREADS="4", GUNICORN_BIND="0.0.0.0:9000"
    )

    assert (conf["workers"], conf["threads"]) == (5, 4)
    assert conf["bind"] == ["0.0.0.0:9000"]


def test_gunicorn_conf_binds_loopback_on_port_when_no_bind_is_given(gunicorn_conf):
    assert gunicorn_conf(PORT="8123")["bind"] == ["127.0.0.1:8123"]


def test_gunicorn_access_log_leaves_out_query_strings_and_referrers(gunicorn_conf):
    log_format = gunicorn_conf()["access_log_format"]

    for carries_a_query in ("%(r)s", "%(q)s", "%(f)s", "{referer}i"):
        assert carries_a_query not in log_format
    assert "%(U)s" in log_format
