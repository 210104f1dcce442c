from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.prod.serving import (
    ROOT,
    alive,
    descendants,
    free_port,
    get,
    port_is_free,
    stop,
    wait_for,
)
from tests.support.prod import clean_env

# About 20 s on an idle 2-core machine (initdb, migrations, the demo clinic, gunicorn
# and the scheduler starting), about 60 s while other test suites load it.
READY_SECONDS = 150


def test_prod_demo_serves_the_layout_and_ctrl_c_stops_every_process(tmp_path):
    port, log, instance = free_port(), tmp_path / "prod-demo.log", tmp_path / "demo"
    env = clean_env(PORT=str(port), CM_PROD_DEMO_DIR=str(instance))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "scripts/prod_demo.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: "Press Ctrl-C" in log.read_text() or proc.poll() is not None,
            READY_SECONDS,
            lambda: f"prod-demo did not get ready:\n{log.read_text()}",
        )
        assert proc.poll() is None, log.read_text()
        text = log.read_text()
        assert f"http://127.0.0.1:{port}/staff/login" in text
        assert re.search(r"^admin  \S+$", text, re.MULTILINE)
        assert get(f"http://127.0.0.1:{port}/staff/login").status == 200
        for private in ("secret-key", "demo-logins.txt"):
            assert (instance / private).stat().st_mode & 0o777 == 0o600
        cluster = Path(re.search(r"socket in (\S+)/run", text).group(1))
        postmaster = int((cluster / "data" / "postmaster.pid").read_text().split()[0])
        processes = descendants(proc.pid) | {postmaster}
        assert len(processes) >= 4, "gunicorn, its workers, the scheduler, postgres"

        assert stop(proc, signal.SIGINT, seconds=60) == 0
    finally:
        stop(proc, signal.SIGTERM, seconds=60)

    assert [pid for pid in processes if alive(pid)] == []
    assert port_is_free(port)
    assert not cluster.exists()
    assert "Stopped." in log.read_text()
