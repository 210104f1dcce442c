"""Registers the audiences' blueprints and the front door."""

from __future__ import annotations

from flask import Flask, redirect, url_for
from werkzeug.routing import IntegerConverter

from . import auth  # noqa: F401 - registers the login manager's user loader
from .api import views as api_views
from .extensions import csrf, login_manager
from .hooks import bp as hooks_bp  # the provider's STOP webhook
from .i18n_messages import init_app as init_explanations
from .local_time import local_date, local_time
from .portal import views as portal_views
from .rules.money import format_cents
from .services.validation import INT_MAX
from .staff import bp as staff_bp


class RowId(IntegerConverter):
    """<int:...> in a URL is a row's id: past INTEGER it names nothing (a 404),
    never a lookup that PostgreSQL or SQLite would refuse with a 500."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowId  # before any route is added
    login_manager.login_view = "staff.account.login"
    login_manager.login_message = "Please log in to continue."
    app.register_blueprint(staff_bp)
    app.register_blueprint(portal_views.bp)
    portal_views.init_i18n(app)
    init_explanations(app)
    # The API authenticates with bearer tokens, not cookies: no CSRF to forge.
    csrf.exempt(api_views.bp)
    app.register_blueprint(api_views.bp)
    # The provider's webhook is authenticated by its signature, not a session.
    csrf.exempt(hooks_bp)
    app.register_blueprint(hooks_bp)
    app.add_template_filter(money)
    app.add_template_filter(local_time)
    app.add_template_filter(local_date)
    app.add_url_rule("/", "index", lambda: redirect(url_for("staff.today.today")))
    app.add_url_rule("/healthz", "healthz", healthz)


def healthz():
    """Liveness for a load balancer: the process answers. It reads no database, so
    a slow database does not take every app host out of rotation at once."""
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


def money(cents: int) -> str:
    """Integer cents as dollars, e.g. 123450 -> "$1,234.50"; no float on the way."""
    return format_cents(int(cents))
