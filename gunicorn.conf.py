"""gunicorn settings for cm-service: `gunicorn -c gunicorn.conf.py wsgi:app`.

Web workers only. The nightly job runs in exactly one separate process,
`flask --app wsgi cm scheduler`; nothing here or in create_app() starts a scheduler,
so adding workers or hosts never runs a job twice.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Let the hooks below import config.py whatever directory gunicorn starts in.
sys.path.insert(0, str(Path(__file__).resolve().parent))

_cores = os.cpu_count() or 1

# Loopback by default: the proxy in front terminates TLS and forwards here.
bind = os.environ.get(
    "GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}"
).split(",")

# Sync workers: measured about 2x gthread on this app's CPU-bound pages (argon2
# logins, Jinja), and a stuck request cannot starve the others in its process.
# cores + 1 (3 on 2 cores): 4 workers already lost throughput on database- and
# template-bound pages on 2 cores (measured on this app);
# the docs' 2 x cores + 1 suits I/O-heavier apps. Capped so a big host does not
# exhaust PostgreSQL's connections (each worker keeps its own pool; see config.py).
workers = int(os.environ.get("WEB_CONCURRENCY", str(min(_cores + 1, 8))))
# GUNICORN_THREADS > 1 switches gunicorn to gthread workers; config.py sizes each
# worker's connection pool from the same variable.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))

# A request is a few queries and at most one argon2 hash (about 30 ms); one still
# running after 30 s is stuck, and its worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM or a reload, requests in flight get this long to finish.
graceful_timeout = 30
# Sync workers cannot keep connections alive: put gunicorn behind a buffering
# proxy (nginx, a load balancer) that keeps the client connections and TLS.
keepalive = 5

# False: every worker imports wsgi.py after the fork, so no engine, pool or
# PostgreSQL connection is ever created in the master and shared across forks
# (psycopg connections must not cross a fork), and a HUP reloads new code. The cost,
# a second or so of start-up per worker, does not matter for a long-lived server.
preload_app = False

# gunicorn would believe X-Forwarded-Proto from any loopback peer by default. The app
# decides instead, from one setting: TRUSTED_PROXIES (cm_service/security.py, ProxyFix)
# says how many proxies set X-Forwarded-*; unset, nobody can claim to be on HTTPS.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}

# Access log to stdout without the query string, referrer or user agent: a query
# string or a referrer URL can carry a participant's name or code (PHI), and URLs
# never need more than the path to follow a request. %(M)s is the time in ms.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# gunicorn 27 otherwise opens a control socket at ~/.gunicorn/gunicorn.ctl, the
# same path for every gunicorn of the user; enable it by path.
control_socket_disable = "GUNICORN_CONTROL_SOCKET" not in os.environ
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

proc_name = "cm-service"


def on_starting(server) -> None:
    """Refuse to start, once and before binding, in production with a development
    setting (the dev SECRET_KEY, or SQLite without ALLOW_SQLITE_IN_PRODUCTION=1).

    create_app() makes the same check in every worker; this gives one clear line
    instead of a traceback per worker.
    """
    from cm_service.security import UnsafeConfiguration, check_production_config
    from config import Config

    settings = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    try:
        check_production_config(settings)
    except UnsafeConfiguration as error:
        server.log.error("cm-service refuses to start: %s", error)
        sys.exit(1)
