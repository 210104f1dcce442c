"""A throwaway PostgreSQL cluster for the test session, on a unix socket in /tmp.

Started with Debian's own initdb/pg_ctl (as the `postgres` OS user when the suite runs
as root, since both refuse root). It fails loudly: the suite must run on PostgreSQL.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


@dataclass
class Cluster:
    bindir: Path
    datadir: Path
    socket_dir: Path
    port: int

    def url(self, database: str) -> str:
        return (
            f"postgresql+psycopg://postgres@/{database}"
            f"?host={self.socket_dir}&port={self.port}"
        )

    def stop(self) -> None:
        _run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "fast",
                "stop",
            ],
            check=False,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(cmd: list[str], *, check: bool = True, as_postgres: bool = True) -> None:
    if as_postgres and _as_root():
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise PostgresUnavailable(
            f"{' '.join(cmd)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found under /usr/lib/postgresql; "
            "`make test` installs Debian's postgresql package"
        )
    return Path(found[-1])


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split("/")[4].split(".") if p.isdigit())


def start_cluster() -> Cluster:
    bindir = _bindir()
    # /tmp, not a 0700 mkdtemp parent: the postgres user must reach the data dir.
    base = Path(tempfile.mkdtemp(prefix="cm-pg-", dir="/tmp"))
    base.chmod(0o755)
    datadir, socket_dir = base / "data", base / "run"
    for d in (datadir, socket_dir):
        d.mkdir()
        if _as_root():
            shutil.chown(d, "postgres", "postgres")
    datadir.chmod(0o700)
    port = 5432  # a unix socket only (listen_addresses=''), so no port can clash
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
    )
    options = (
        f"-k {socket_dir} -c listen_addresses='' -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c lock_timeout=20s "
        "-c max_connections=200"
    )
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-l",
            str(socket_dir / "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        ]
    )
    return Cluster(bindir=bindir, datadir=datadir, socket_dir=socket_dir, port=port)
