"""Migration fixtures: an empty database on each backend, for upgrading step by step."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.config import dsn


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    cluster = request.getfixturevalue("pg_cluster")
    name = f"cm_empty_{tmp_path.name.replace('-', '_').lower()[-40:]}"
    with psycopg.connect(dsn(cluster, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return cluster.url(name)
