"""The staff member's own account: password, second factor, and their sessions."""

from __future__ import annotations

from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup

from .. import clock
from ..auth import ANY_STAFF, role_required
from ..extensions import login_manager
from ..services.access import accounts, totp
from ..services.errors import CMError, InvalidInput
from . import drafts, forms, sessions
from .common import show_error

bp = Blueprint("account", __name__)

NONCE_KEY = "staff_totp_enrolment"
QR_SCALE = 4  # pixels per module: about 200 px for a setup link


def setup_qr(uri: str) -> Markup:
    """The otpauth:// setup link as a QR code for an authenticator to scan: an
    inline <svg> image drawn here by segno (offline), with no style or script of
    its own (the CSP allows none inline). Shown on a no-store page, never logged."""
    code = segno.make(uri, error="m", micro=False)
    svg = code.svg_inline(scale=QR_SCALE, svgclass="qr", lineclass=None)
    named = Markup('<svg role="img" aria-label="QR image of the setup link" ')
    return named + Markup(svg.removeprefix("<svg "))  # noqa: S704 - segno's markup


def _me():
    return current_user._get_current_object()


def _render_index(status: int = 200, **submitted):
    user = _me()
    page = {
        "password_form": forms.PasswordChangeForm(formdata=None),
        "disable_form": forms.PasswordConfirmForm(formdata=None, prefix="off"),
        "codes_form": forms.PasswordConfirmForm(formdata=None, prefix="codes"),
        "everywhere_form": FlaskForm(formdata=None),
    }
    page.update(submitted)
    return render_template(
        "staff/account.html",
        user=user,
        required=totp.required(user),
        unused_codes=totp.unused_recovery_codes(user) if user.totp_secret else 0,
        **page,
    ), status


@bp.get("/account/")
@role_required(*ANY_STAFF)
def index():
    return _render_index()


@bp.post("/account/password")
@role_required(*ANY_STAFF)
def change_password():
    form = forms.PasswordChangeForm()
    if form.validate_on_submit():
        user = _me()
        try:
            accounts.change_password(
                user,
                form.current_password.data,
                form.new_password.data,
                now=clock.now(),
                ip=request.remote_addr,
            )
        except CMError as error:
            show_error(form, error)
        else:
            sessions.renew_version(user)
            flash("Password changed. Your other sessions were logged out.")
            return redirect(url_for(".index"))
    return _render_index(422, password_form=form)


@bp.post("/account/logout-everywhere")
@role_required(*ANY_STAFF)
def logout_everywhere():
    form = FlaskForm()
    if not form.validate_on_submit():
        return _render_index(422)
    accounts.log_out(_me(), now=clock.now(), everywhere=True)
    sessions.end()
    flash("You are logged out on every device.")
    return redirect(url_for(".login"))


@bp.route("/account/second-factor", methods=["GET", "POST"])
def enrol():
    """Set up TOTP: for a logged-in staff member, or for an admin half-way through
    logging in (who cannot log in without it)."""
    if current_user.is_authenticated:
        user, next_url, login = _me(), url_for(".index"), False
    else:
        found = sessions.pending("enrol")
        if found is None:
            return login_manager.unauthorized()
        (user, next_url), login = found, True
    if user.totp_secret:
        flash("Your second factor is already set up.")
        return redirect(url_for(".index"))
    nonce = session.get(NONCE_KEY)
    if not isinstance(nonce, str):
        nonce = session[NONCE_KEY] = totp.new_nonce()
    secret = totp.enrolment_secret(user, nonce)
    form = forms.CodeForm()
    if form.validate_on_submit():
        try:
            codes = totp.enrol(
                user,
                secret,
                form.code.data,
                now=clock.now(),
                ip=request.remote_addr,
                login=login,
            )
        except CMError as error:
            show_error(form, error)
        else:
            session.pop(NONCE_KEY, None)
            if login:
                sessions.start(user)
            return render_template(
                "staff/totp_recovery.html", codes=codes, next_url=next_url
            )
    uri = totp.provisioning_uri(user, secret)
    return render_template(
        "staff/totp_enrol.html",
        form=form,
        login=login,
        user=user,
        secret=totp.grouped(secret),
        uri=uri,
        qr=setup_qr(uri),
    ), 422 if form.errors else 200


@bp.post("/account/second-factor/off")
@role_required(*ANY_STAFF)
def disable():
    form = forms.PasswordConfirmForm(prefix="off")
    if form.validate_on_submit():
        try:
            totp.disable(_me(), form.password.data, now=clock.now())
        except CMError as error:
            show_error(form, error)
        else:
            flash("Your second factor is off.")
            return redirect(url_for(".index"))
    return _render_index(422, disable_form=form)


@bp.post("/account/recovery-codes")
@role_required(*ANY_STAFF)
def recovery_codes():
    form = forms.PasswordConfirmForm(prefix="codes")
    if form.validate_on_submit():
        try:
            codes = totp.new_recovery_codes(_me(), form.password.data, now=clock.now())
        except CMError as error:
            show_error(form, error)
        else:
            return render_template(
                "staff/totp_recovery.html",
                codes=codes,
                next_url=url_for(".index"),
            )
    return _render_index(422, codes_form=form)


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: never an open redirect to another host.
    if target and target.startswith("/") and not urlsplit(target).netloc:
        if not target.startswith("//") and "\\" not in target:
            return target
    return url_for("staff.today.today")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.today.today"))
    form = forms.LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                form.username.data,
                form.password.data,
                now=clock.now(),
                ip=request.remote_addr,
            )
        except InvalidInput as error:  # a username no one could have
            show_error(form, error)
            return render_template("staff/login.html", form=form), 422
        if user is not None:
            next_url = _safe_next(request.args.get("next"))
            step = accounts.second_step(user)
            if step is None:
                sessions.start(user)
                return redirect(next_url)
            sessions.begin_pending(user, step, next_url)
            if step == "code":
                return redirect(url_for(".login_code"))
            return redirect(url_for(".enrol"))
        form.password.errors.append("Wrong username or password.")
    status = 422 if form.errors else 200
    kept = drafts.waiting_in(request.args.get("next"))
    return render_template("staff/login.html", form=form, draft_kept=kept), status


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of logging in: a TOTP code or a recovery code."""
    found = sessions.pending("code")
    if found is None:
        flash("Please log in again.")
        return redirect(url_for(".login"))
    user, next_url = found
    form = forms.CodeForm()
    if form.validate_on_submit():
        if totp.verify_login(
            user, form.code.data, now=clock.now(), ip=request.remote_addr
        ):
            sessions.start(user)
            return redirect(next_url)
        form.code.errors.append(
            "That code did not work. Use the newest code, or a recovery code."
        )
    status = 422 if form.errors else 200
    kept = drafts.waiting_in(next_url)
    return render_template("staff/login_code.html", form=form, draft_kept=kept), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Ends every session of this account, here and in any other browser.
        accounts.log_out(current_user._get_current_object(), now=clock.now())
    sessions.end()
    flash("You are logged out.")
    return redirect(url_for(".login"))
