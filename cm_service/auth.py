"""Who is logged in, and the decorators that let only the right role through."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from .extensions import login_manager
from .models import User
from .services.access import accounts
from .services.access.actors import Actor, staff_actor


def active_user(user_id: str) -> User | None:
    """The active account with this id (staff/sessions.py's user loader, the one
    Flask-Login uses, adds the session-version check)."""
    return accounts.session_user(user_id)


def current_actor() -> Actor:
    return staff_actor(current_user)


def role_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let a logged-in staff member with one of `roles` in; others are sent to log in
    (anonymous) or refused with 403 (wrong role)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


ANY_STAFF = ("admin", "staff", "auditor")
WRITERS = ("admin", "staff")  # auditors read everything and change nothing
ADMINS = ("admin",)
