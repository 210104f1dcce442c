"""Fixtures: a real database per test (SQLite file or PostgreSQL database), the app,
and factories that build state through the services, never around them."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade

from cm_service import create_app
from cm_service.extensions import db
from cm_service.services.access.actors import SYSTEM, Actor
from cm_service.services.admin import clinics
from tests.support.clock import Clock, freeze
from tests.support.config import TEST_CONFIG, dsn
from tests.support.factories import NOW, make_staff
from tests.support.pg import Cluster, start_cluster


def _migrated(uri: str) -> None:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    try:
        with psycopg.connect(dsn(cluster, "postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE cm_template")
        _migrated(cluster.url("cm_template"))
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "cm.sqlite3"
    _migrated(f"sqlite:///{path}")
    return path


_counter = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database for one test, on each backend in turn."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "cm.sqlite3"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name = f"cm_test_{next(_counter)}"
    with psycopg.connect(dsn(cluster, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE cm_template")
    return cluster.url(name)


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url})
    with app.app_context():
        yield app
        # Release the session before the database goes: an idle transaction holding
        # a lock would make PostgreSQL wait forever (a known CI pitfall).
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def clinic(app: Flask):
    return clinics.create_clinic(SYSTEM, "Test Clinic", "America/Chicago", now=NOW)


@pytest.fixture
def other_clinic(app: Flask):
    return clinics.create_clinic(SYSTEM, "Other Clinic", "America/Chicago", now=NOW)


@pytest.fixture
def staff(clinic) -> Actor:
    return make_staff(clinic)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The app's one clock, stopped at NOW (Monday 2026-02-02, 14:00 in Chicago);
    set `clock.now` to move it."""
    stopped = Clock(NOW)
    freeze(monkeypatch, stopped)
    return stopped
