"""`flask cm token ...`: API tokens."""

from __future__ import annotations

from flask.cli import AppGroup

token = AppGroup("token", help="API tokens.")
