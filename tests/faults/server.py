"""A real app server in a child process, and a small cookie-keeping HTTP client.

The server is gunicorn (sync workers, as in production) on 127.0.0.1, started in its
own session so that `kill()` can SIGKILL the master and its workers together, as a
power cut or an OOM kill would. Every wait is bounded and fails with the server log.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CSRF = re.compile(r'name="[a-z-]*csrf_token"[^>]*value="([^"]+)"')
READY_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`start()`, `kill()` (SIGKILL to the whole process group), `stop()`."""

    def __init__(self, db_url: str, log: Path, workers: int = 2) -> None:
        self.db_url, self.log, self.workers = db_url, log, workers
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "SECRET_KEY": "faults-test-secret",
            "DRAW_SECRET": "faults-draw-secret",
            "CM_ENV": "development",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_KIB": "8",
        }
        cmd = [
            GUNICORN,
            "--no-control-socket",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "30",
            "wsgi:app",
        ]
        with self.log.open("a") as out:
            out.write(f"\n=== start {time.strftime('%X')} port {self.port}\n")
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited at start:\n{self.log_tail()}")
            try:
                if Client(self.port).get("/staff/login").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(
            f"server not ready in {READY_SECONDS} s:\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: nothing gets to clean up."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text() if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        self.status, self.headers, self.body = status, headers, body


class Client:
    """One browser-like session: keeps cookies, reads CSRF tokens off forms."""

    def __init__(self, port: int, timeout: float = 60) -> None:
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict | None = None,
        json_body: bytes | None = None,
        headers: dict | None = None,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            body = None
            if form is not None:
                body = urlencode(form)
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            elif json_body is not None:
                body = json_body
                sent["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            text = raw.read().decode("utf-8", "replace")
            for name, value in raw.getheaders():
                if name.lower() == "set-cookie":
                    cookie, _, _ = value.partition(";")
                    key, _, val = cookie.partition("=")
                    self.cookies[key.strip()] = val.strip()
            return Response(raw.status, dict(raw.getheaders()), text)
        finally:
            conn.close()

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Response:
        return self.request("POST", path, **kwargs)

    def csrf(self, path: str) -> str:
        page = self.get(path)
        match = CSRF.search(page.body)
        if page.status != 200 or not match:
            raise AssertionError(f"no CSRF token on {path} ({page.status})")
        return match.group(1)

    def log_in_staff(self, username: str, password: str) -> None:
        token = self.csrf("/staff/login")
        done = self.post(
            "/staff/login",
            form={"username": username, "password": password, "csrf_token": token},
        )
        if done.status != 302:
            raise AssertionError(f"staff login failed: {done.status}")
