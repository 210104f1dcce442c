"""Starting, probing and stopping real server processes, with bounded waits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(
    condition: Callable[[], bool], seconds: float, failure: Callable[[], str]
) -> None:
    """Poll `condition` every 0.2 s; fail with failure() after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up after {seconds} s: {failure()}")


def get(url: str, **headers: str) -> urllib.request.addinfourl | None:
    """The response to GET url, or None if nothing answers yet."""
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        return urllib.request.urlopen(request, timeout=5)  # noqa: S310 - loopback
    except urllib.error.HTTPError as error:
        return error
    except (urllib.error.URLError, OSError):
        return None


def wait_until_serving(proc: subprocess.Popen, url: str, log: Path, seconds=60):
    """Wait for `url` to answer 200 while `proc` lives; return the response."""
    answers: list = []

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(
                f"exited with {proc.returncode} before serving:\n{log.read_text()}"
            )
        response = get(url)
        if response is not None and response.status == 200:
            answers.append(response)
            return True
        return False

    wait_for(ready, seconds, lambda: f"{url} never answered 200:\n{log.read_text()}")
    return answers[0]


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, seconds=45) -> int:
    """Signal `proc`, wait for it, and kill it (then fail) if it does not exit."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        if _leads_group(proc):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()
        raise AssertionError(
            f"{proc.args} did not exit {seconds} s after signal {sig}"
        ) from None


def _leads_group(proc: subprocess.Popen) -> bool:
    try:
        return os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        return False


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for its parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def descendants(pid: int) -> set[int]:
    """Every process under `pid`, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
