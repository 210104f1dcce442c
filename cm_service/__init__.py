"""cm-service: contingency-management rewards for addiction-treatment clinics."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: wiring only; never migrates, seeds, starts jobs or networks."""
    app = Flask(
        __name__,
        instance_path=str(Path(__file__).resolve().parent.parent / "instance"),
        template_folder=str(TEMPLATES_DIR),
    )
    # Imported here so that `import cm_service.models` (migrations, benchmarks) does
    # not pull in every view and command.
    from . import cli, errors, extensions, security, transactions, web
    from .staff import sessions

    app.config.from_object("config.Config")
    if overrides:
        app.config.update(overrides)

    security.check_production_config(app.config)
    extensions.init_app(app)
    transactions.init_app(app)
    security.init_app(app)
    web.init_app(app)
    sessions.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    return app
