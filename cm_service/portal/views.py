"""Participant portal (phone-first): parse, call one service, render.

No route takes a participant id: every page shows the logged-in participant's own
record, so another participant's data has no URL at all. No route takes a clinic id
or lists clinics either: each clinic's login is its own unguessable link
(services/access/portal_links.py), printed on the participant's card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound as HTTPNotFound

from .. import clock
from ..rules.messages import N_
from ..services.access import consents, portal_links
from ..services.errors import InvalidInput, NotFound
from ..services.integrations import reminders
from ..services.reads import portal
from . import access, chart, errors, i18n
from .access import current_actor, participant_required
from .forms import LanguageForm, LoginForm, ReminderForm

if TYPE_CHECKING:
    from ..models import Clinic

bp = Blueprint("portal", __name__, url_prefix="/me")

# The service's InvalidInput fields, in the participant's language.
FIELD_MESSAGES = {
    "code": _l("Enter your participant code, e.g. P-0042."),
    "pin": _l("Your PIN is 6 to 12 digits."),
}


# Each language named in itself, so anyone can find their own.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def init_i18n(app: Flask) -> None:
    i18n.init_app(app)


@bp.before_request
def _fresh_request_state() -> None:
    # Who is logged in and the language are decided anew for every request, also
    # where an outer app context (a test, a CLI) outlives one request.
    g.pop("portal_participant", None)
    refresh()


@bp.context_processor
def portal_context() -> dict:
    return {
        "locale": str(get_locale() or "en"),
        "language_names": LANGUAGE_NAMES,
        "language_form": LanguageForm(),
        "participant": g.get("portal_participant"),
        "short_day": i18n.short_day,
        "clock": i18n.clock,
    }


@bp.get("/login")
def login():
    # No clinic is named or chosen here (which clinic someone attends is itself
    # protected, 42 CFR Part 2): each clinic's login is its own link, on the card.
    if access.session_participant() is not None:
        return redirect(url_for("portal.home"))
    return render_template("portal/login_elsewhere.html")


@bp.route("/<slug>/login", methods=["GET", "POST"])
def clinic_login(slug: str):
    # The clinic is fixed by its link (the card's URL or QR code, or a kiosk's
    # bookmark): only the code and PIN are asked. Any other slug is a plain 404.
    clinic = portal_links.clinic_of(slug)
    if access.session_participant() is not None:
        return redirect(url_for("portal.home"))
    form = LoginForm()
    failure = None
    if form.validate_on_submit():
        failure = _attempt(form, clinic)
        if failure is None:
            return redirect(url_for("portal.home"))
    status = 422 if failure or form.errors else 200
    page = render_template(
        "portal/login.html", form=form, clinic=clinic, failure=failure
    )
    return page, status


def _attempt(form: LoginForm, clinic: Clinic) -> str | None:
    """Try the credentials; None on success, else the message to show."""
    at = clock.now()
    try:
        result = portal.log_in(
            clinic.id,
            form.code.data,
            form.pin.data,
            now=at,
            ip=request.remote_addr,
        )
    except InvalidInput as error:
        getattr(form, error.field).errors.append(FIELD_MESSAGES[error.field])
        return ""
    if result.participant is None:
        if result.locked:
            return _("Too many tries. Wait 15 minutes, or ask staff for help.")
        return _("That code and PIN do not match. Check them, or ask staff for help.")
    access.start(result.participant, at)
    return None


@bp.post("/logout")
def logout():
    participant = access.session_participant()
    if participant is not None:
        g.portal_participant = participant  # the goodbye in their language
        portal.log_out(portal.participant_actor(participant), now=clock.now())
        session[i18n.LANGUAGE_KEY] = participant.language
        flash(_("You are logged out."))
    access.end()
    return redirect(access.login_url())


@bp.post("/language")
def language():
    form = LanguageForm()
    if not form.validate_on_submit() or form.language.data not in portal.LANGUAGES:
        raise InvalidInput("language", N_("Choose English or Spanish."))
    session[i18n.LANGUAGE_KEY] = form.language.data
    participant = access.session_participant()
    if participant is not None:
        actor = portal.participant_actor(participant)
        portal.set_language(actor, form.language.data, now=clock.now())
    return redirect(_same_site(form.next.data))


def _same_site(target: str | None) -> str:
    # Only the portal's own relative paths: never an open redirect.
    if (
        target
        and target.startswith("/me")
        and "//" not in target
        and "\\" not in target
    ):
        return target
    return url_for("portal.home")


@bp.get("/")
@participant_required
def home():
    standing = portal.home(current_actor(), now=clock.now())
    return render_template("portal/home.html", home=standing)


@bp.get("/history")
@participant_required
def history():
    page = request.args.get("page", 1, type=int)
    found = portal.history(current_actor(), page, now=clock.now())
    return render_template("portal/history.html", page=found)


@bp.get("/progress")
@participant_required
def progress():
    found = portal.progress(current_actor(), now=clock.now())
    drawn = chart.weekly_chart(found)
    return render_template("portal/progress.html", progress=found, chart=drawn)


@bp.get("/rewards")
@participant_required
def rewards():
    balance, options = portal.rewards(current_actor())
    return render_template("portal/rewards.html", balance=balance, options=options)


@bp.get("/who-looked")
@participant_required
def record_views():
    page = request.args.get("page", 1, type=int)
    found = portal.record_views(current_actor(), page)
    return render_template("portal/record_views.html", page=found)


@bp.route("/reminders", methods=["GET", "POST"])
@participant_required
def reminders_page():
    actor = current_actor()
    prefs = reminders.own_preferences(actor, now=clock.now())
    form = ReminderForm()
    if request.method == "GET":
        form = ReminderForm(formdata=None)
        form.sms.data, form.email.data = prefs.on("sms"), prefs.on("email")
        form.explicit.data = prefs.setting.explicit
        form.quiet_from.data = prefs.setting.quiet_from
        form.quiet_until.data = prefs.setting.quiet_until
    elif form.validate_on_submit():
        stop_all = request.form.get("stop") == "all"
        try:
            reminders.set_by_participant(
                actor,
                sms=form.sms.data and not stop_all,
                email=form.email.data and not stop_all,
                explicit=form.explicit.data,
                quiet_from=form.quiet_from.data,
                quiet_until=form.quiet_until.data,
                now=clock.now(),
            )
        except InvalidInput as error:
            getattr(form, error.field).errors.append(
                _("Ask staff to set this up with you first.")
            )
        else:
            if stop_all:
                flash(_("You will get no more reminders."))
            else:
                flash(_("Your reminder choices are saved."))
            return redirect(url_for("portal.reminders_page"))
    status = 422 if form.errors else 200
    page = render_template(
        "portal/reminders.html",
        form=form,
        prefs=prefs,
        phone=reminders.masked(prefs.address("sms")),
        mail=reminders.masked(prefs.address("email")),
    )
    return page, status


@bp.get("/shared")
@participant_required
def shared():
    """Who my records were shared with: my consents and every disclosure made
    under them (42 CFR Part 2)."""
    actor = current_actor()
    found = consents.view_consents(actor, actor.id, now=clock.now())
    return render_template(
        "portal/shared.html",
        page=found,
        reminder_recipient=reminders.CONSENT_RECIPIENT,
    )


@bp.errorhandler(HTTPNotFound)
@bp.errorhandler(NotFound)
def not_found(_error):
    return errors.error_page(404)
