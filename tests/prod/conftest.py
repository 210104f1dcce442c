"""Fixtures for the production layout tests: a migrated PostgreSQL database of its
own, and a gunicorn started the way production starts it."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.prod.serving import ROOT, free_port, stop
from tests.support.config import dsn
from tests.support.pg import Cluster

_names = itertools.count()


@pytest.fixture
def pg_database(pg_cluster: Cluster) -> Iterator[tuple[str, str]]:
    """(DATABASE_URL, dsn) of a fresh copy of the migrated template."""
    name = f"cm_prod_{os.getpid()}_{next(_names)}"
    with psycopg.connect(dsn(pg_cluster, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE cm_template")
    yield pg_cluster.url(name), dsn(pg_cluster, name)
    with psycopg.connect(dsn(pg_cluster, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


Gunicorn = Callable[..., tuple[subprocess.Popen, int, Path]]


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Gunicorn]:
    """start(env, args, cwd) -> (process, port, log); every one is stopped after."""
    started: list[subprocess.Popen] = []

    def start(
        env: dict[str, str],
        args: tuple[str, ...] = ("-c", "gunicorn.conf.py", "wsgi:app"),
        cwd: Path = ROOT,
    ) -> tuple[subprocess.Popen, int, Path]:
        port = free_port()
        log = tmp_path / f"gunicorn-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", *args],
                cwd=cwd,
                env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(proc)
        return proc, port, log

    yield start
    for proc in started:
        stop(proc)
