"""Staff pages: parse, call one service, render."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ..auth import ANY_STAFF, current_actor, role_required
from ..services import accounts, participants
from .forms import LoginForm

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _now() -> datetime:
    return datetime.now(UTC)


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: never an open redirect to another host.
    if target and target.startswith("/") and not urlsplit(target).netloc:
        if not target.startswith("//") and "\\" not in target:
            return target
    return url_for("staff.participants_list")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.participants_list"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data, now=_now())
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("Wrong username or password.")
    status = 422 if form.errors else 200
    return render_template("staff/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("staff.login"))


@bp.get("/participants")
@role_required(*ANY_STAFF)
def participants_list():
    rows = participants.list_participants(current_actor())
    return render_template("staff/participants.html", rows=rows)


@bp.get("/participants/<int:participant_id>")
@role_required(*ANY_STAFF)
def participant_detail(participant_id: int):
    record = participants.view_participant(current_actor(), participant_id, now=_now())
    return render_template("staff/participant_detail.html", record=record)
