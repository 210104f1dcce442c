"""`make prod-demo`: the production layout on this machine, stopped with Ctrl-C.

Starts a throwaway PostgreSQL cluster (Debian's binaries, a unix socket only, as the
`postgres` OS user when run as root), applies the migrations (`flask cm init`), loads
the demo clinic, then runs gunicorn with gunicorn.conf.py under CM_ENV=production and
exactly one `flask cm scheduler`. The secret key is generated once and kept in
instance/prod-demo/secret-key (0600). Ctrl-C, SIGTERM or SIGHUP stops gunicorn, then
the scheduler, then PostgreSQL, and removes the cluster.

Usage: .venv/bin/python scripts/prod_demo.py   (PORT=8000 by default)
"""

from __future__ import annotations

import ctypes
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Its own instance folder; CM_PROD_DEMO_DIR moves it (the smoke test uses a tmp dir).
DEMO_DIR = Path(os.environ.get("CM_PROD_DEMO_DIR", ROOT / "instance" / "prod-demo"))
PG_OS_USER = "postgres"  # initdb and postgres refuse to run as root
READY_SECONDS = 60
STOP_SECONDS = 40  # gunicorn's graceful_timeout is 30 s


class Stop(Exception):
    """A signal asked the demo to stop."""


class DemoFailed(RuntimeError):
    pass


def demo_app():
    """The app with its instance folder at instance/prod-demo/, for `flask cm demo`,
    which writes the demo logins there: `make run`'s own logins stay as they are."""
    from cm_service import create_app

    app = create_app()
    app.instance_path = str(DEMO_DIR)
    return app


@dataclass
class Cluster:
    bindir: Path
    base: Path

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "run"

    def database_url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def stop(self) -> None:
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.datadir)]
        _as_pg_user([*pg_ctl, "-m", "fast", "-w", "-t", "30", "stop"], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def _as_pg_user(cmd: list[str], *, check: bool = True) -> None:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", PG_OS_USER, "--", *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv, no shell
    if check and result.returncode != 0:
        raise DemoFailed(
            f"{' '.join(cmd)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )


def start_postgres() -> Cluster:
    """initdb + pg_ctl start on a unix socket in a new folder under /tmp."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4].split(".")[0]),
    )
    if not found:
        raise DemoFailed(
            "PostgreSQL server binaries not found under /usr/lib/postgresql: "
            "`make prod-demo` installs Debian's postgresql package (make system-deps)"
        )
    # /tmp, not instance/: the postgres OS user must reach the data folder, and a
    # checkout under a 0700 home would not let it.
    cluster = Cluster(
        Path(found[-1]).parent, Path(tempfile.mkdtemp(prefix="cm-prod-demo-"))
    )
    cluster.base.chmod(0o755)
    for folder in (cluster.datadir, cluster.socket_dir):
        folder.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(folder, PG_OS_USER, PG_OS_USER)
    try:
        _as_pg_user(
            [
                str(cluster.bindir / "initdb"),
                *("-D", str(cluster.datadir), "-U", "postgres", "-E", "UTF8"),
                # trust is safe here: the socket folder is 0700, so only its owner
                # (and root) can connect, and there is no TCP listener at all.
                *("-A", "trust", "--locale=C.UTF-8", "--no-sync"),
            ]
        )
        options = f"-k {cluster.socket_dir} -c listen_addresses=''"
        _as_pg_user(
            [
                str(cluster.bindir / "pg_ctl"),
                *(
                    "-D",
                    str(cluster.datadir),
                    "-l",
                    str(cluster.socket_dir / "server.log"),
                ),
                *("-w", "-t", "30", "-o", options, "start"),
            ]
        )
    except BaseException:
        cluster.stop()
        raise
    return cluster


def secret_key(name: str = "secret-key") -> str:
    """A demo secret (SECRET_KEY, AUDIT_KEY): made once, then read from
    instance/prod-demo/ (0600)."""
    path = DEMO_DIR / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _die_with_parent() -> None:
    # Runs in the child before exec: if this script is killed outright (SIGKILL), the
    # kernel sends the child SIGTERM, so gunicorn and the scheduler are not orphaned.
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    # A session of its own: the terminal's Ctrl-C reaches only this script, which
    # then stops the children in order (gunicorn before the database it uses).
    return subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        cmd,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # this script starts no threads
    )


def stop_process(proc: subprocess.Popen, sig: int, name: str) -> None:
    """Send `sig` to the process's group, wait, then kill the group if it lingers."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in {STOP_SECONDS} s; killing it", flush=True)
    # Kill whatever is left in its group (a worker whose master died first).
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As gunicorn binds: connections of a previous run in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_serving(url: str, procs: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise DemoFailed(f"{name} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http://127.0.0.1 URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise DemoFailed(f"{url} did not answer 200 within {READY_SECONDS} s")


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", *args]


def run(port: int) -> int:
    if not port_is_free(port):
        raise DemoFailed(f"port {port} on 127.0.0.1 is in use; set PORT to another")
    DEMO_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    cluster = start_postgres()
    procs: dict[str, subprocess.Popen] = {}
    try:
        print(
            f"PostgreSQL is running on the socket in {cluster.socket_dir}", flush=True
        )
        _as_pg_user(
            [
                str(cluster.bindir / "createdb"),
                *("-h", str(cluster.socket_dir), "-U", "postgres", "cm"),
            ]
        )
        env = {
            **os.environ,
            "CM_ENV": "production",
            "SECRET_KEY": secret_key(),
            "AUDIT_KEY": secret_key("audit-key"),
            "DATABASE_URL": cluster.database_url("cm"),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("DRAW_SECRET", None)  # follows SECRET_KEY
        env.pop("ALLOW_SQLITE_IN_PRODUCTION", None)
        demo = "scripts.prod_demo:demo_app"
        for step in (("cm", "init"), ("cm", "demo")):
            subprocess.run(_flask("--app", demo, *step), cwd=ROOT, env=env, check=True)  # noqa: S603 - fixed argv
        procs["gunicorn"] = spawn(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            env,
        )
        procs["scheduler"] = spawn(_flask("--app", "wsgi", "cm", "scheduler"), env)
        url = f"http://127.0.0.1:{port}/staff/login"
        wait_until_serving(url, procs)
        pids = ", ".join(f"{name} {proc.pid}" for name, proc in procs.items())
        print(f"\ncm-service (production layout) on {url}", flush=True)
        print(f"Processes: {pids}; logins in {DEMO_DIR / 'demo-logins.txt'}")
        print("Press Ctrl-C to stop everything.", flush=True)
        while True:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise DemoFailed(f"{name} exited with code {proc.returncode}")
            time.sleep(0.5)
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        print("\nStopping gunicorn, the scheduler and PostgreSQL ...", flush=True)
        if "gunicorn" in procs:
            stop_process(procs["gunicorn"], signal.SIGTERM, "gunicorn")
        if "scheduler" in procs:
            # SIGINT: the scheduler command catches KeyboardInterrupt and returns.
            stop_process(procs["scheduler"], signal.SIGINT, "the scheduler")
        cluster.stop()
        print("Stopped.", flush=True)


def _raise_stop(signum: int, _frame) -> None:
    raise Stop(signal.Signals(signum).name)


def main(handler: Callable = _raise_stop) -> int:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
    try:
        run(int(os.environ.get("PORT", "8000")))
    except Stop:
        return 0
    except (DemoFailed, subprocess.CalledProcessError) as error:
        print(f"prod-demo failed: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
