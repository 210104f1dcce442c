"""Staff pages: parse, call one service, render.

A service's InvalidInput or Conflict comes back next to the form field it names,
with status 422 (or 409) and nothing written; NotFound becomes a 404 page.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..auth import ADMINS, ANY_STAFF, WRITERS, current_actor, role_required
from ..rules.substances import substance_label, substance_list, substance_words
from ..services.access import accounts, totp
from ..services.admin import clinics, protocol_admin
from ..services.admin.protocol_admin import protocol_label
from ..services.cm import (
    checkins,
    corrections,
    exemptions,
    participants,
    pricing,
    rewards,
)
from ..services.cm.timeline import clinic_today
from ..services.errors import CMError, InvalidInput
from ..services.reads import board, records
from . import drafts, forms, sessions

bp = Blueprint("staff", __name__, url_prefix="/staff")
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ONE_DAY = timedelta(days=1)


# Plain words on every page (issue 16): a protocol's short name, substances by
# name, not code ("MDMA/ecstasy" for mdma). Exports and the API keep the codes.
bp.add_app_template_filter(protocol_label, "protocol_label")
bp.add_app_template_filter(substance_words, "substance")
bp.add_app_template_filter(substance_label, "substance_label")
bp.add_app_template_filter(substance_list, "substances")


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: never an open redirect to another host.
    if target and target.startswith("/") and not urlsplit(target).netloc:
        if not target.startswith("//") and "\\" not in target:
            return target
    return url_for("staff.today")


def show_error(form: FlaskForm, error: CMError, aliases: dict | None = None) -> None:
    """Put a service's error next to the field it names (or at the form's top)."""
    name = (error.field or "").replace("results.", "result_")
    if name not in form:
        name = (aliases or {}).get(name, name)
    if name in form:
        form[name].errors = [*form[name].errors, error.message]
    else:
        form.form_errors.append(error.message)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.today"))
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
                return redirect(url_for("staff.login_code"))
            return redirect(url_for("account.enrol"))
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
        return redirect(url_for("staff.login"))
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
    return redirect(url_for("staff.login"))


@dataclass(frozen=True)
class DaySwitch:
    """The board's day switch: which of its links is the page shown, and the
    message a bad `?day=` or `?week=` gets."""

    today: date
    shown: date | None = None  # the day on the board; None for a week
    week_start: date | None = None
    error: str | None = None

    @property
    def value(self) -> date:
        return self.shown or self.week_start or self.today

    @property
    def title(self) -> str:
        names = {self.today: "Today", self.today - ONE_DAY: "Yesterday"}
        return {**names, self.today + ONE_DAY: "Tomorrow"}.get(self.shown, "Day")

    def links(self) -> list[tuple[str, str, bool]]:
        before, after = self.today - ONE_DAY, self.today + ONE_DAY
        monday = self.today - timedelta(days=self.today.weekday())
        return [
            (
                "Yesterday",
                url_for("staff.today", day=before.isoformat()),
                self.shown == before,
            ),
            ("Today", url_for("staff.today"), self.shown == self.today),
            (
                "Tomorrow",
                url_for("staff.today", day=after.isoformat()),
                self.shown == after,
            ),
            ("This week", url_for("staff.today", week=1), self.week_start == monday),
        ]


@bp.get("/today")
@role_required(*ANY_STAFF)
def today():
    """The board of a day (`?day=YYYY-MM-DD`, default today) or of the week
    holding it (`?week=1`); a bad date shows today's board with the message."""
    actor = current_actor()
    try:
        template, shown = _board_of(actor, request.args)
        status = 200
    except InvalidInput as bad:
        day = board.day_board(actor, now=clock.now())
        template, status = "staff/today.html", 422
        shown = {
            "board": day,
            "switch": DaySwitch(day.today, day.day, error=bad.message),
        }
    return render_template(
        template,
        **shown,
        find=forms.FindForm(formdata=None),
        codes=board.participant_codes(actor),
    ), status


def _board_of(actor, args) -> tuple[str, dict]:
    day = typed_date(args.get("day"))
    week = args.get("week")
    if week is None:
        shown = board.day_board(actor, now=clock.now(), day=day)
        switch = DaySwitch(shown.today, shown.day)
        return "staff/today.html", {"board": shown, "switch": switch}
    if week != "1":
        raise InvalidInput("week", "Choose a week with week=1.")
    shown = board.week_board(actor, now=clock.now(), day=day)
    switch = DaySwitch(shown.today, week_start=shown.start)
    return "staff/week.html", {"week": shown, "switch": switch}


def typed_date(text: str | None) -> date | str | None:
    """A YYYY-MM-DD query argument as a date; anything else as typed (for the
    service's check_date to name), and nothing as None."""
    if not text:
        return None
    try:
        return date.fromisoformat(text) if ISO_DAY.fullmatch(text) else text
    except ValueError:
        return text


@bp.get("/checkin")
@role_required(*ANY_STAFF)
def checkin_find():
    actor = current_actor()
    form = forms.FindForm(request.args)
    status, choices = 200, []
    if request.args:
        if form.validate():
            choices = board.match_codes(actor, form.code.data)
            if len(choices) == 1:
                return redirect(url_for("staff.checkin", participant_id=choices[0].id))
            if not choices:
                form.code.errors.append("No participant with that code in this clinic.")
                status = 404
        else:
            status = 422
    codes = board.participant_codes(actor)
    return render_template(
        "staff/checkin_find.html",
        find=form,
        codes=codes,
        choices=choices[: board.MAX_CHOICES],
        more=len(choices) > board.MAX_CHOICES,
    ), status


def _checkin_forms(standing: board.Standing, late=None, **submitted) -> dict:
    """Blank check-in forms dated today, or dated and filled as `late` says (a
    late check-in from the board: its day and, for a session, its type)."""
    day, session_type = late or (standing.today, None)
    data = {"formdata": None}
    built = {
        "specimen": forms.specimen_form(standing.targets, prefix="s", **data),
        "all_negative": forms.AllNegativeForm(prefix="n", **data),
        "attendance": forms.AttendanceForm(prefix="a", **data),
        "excuse": forms.ExcuseForm(prefix="e", **data),
    }
    for form in built.values():
        forms.today_default(form, day)
        form.nonce.data = uuid.uuid4().hex
    if session_type:
        built["attendance"].session_type.data = session_type
        built["attendance"].late.data = True
        built["excuse"].session_type.data = session_type
    built.update(submitted)
    return built


def _late_checkin(today: date, args) -> tuple[date, str | None] | None:
    """`?on=YYYY-MM-DD[&session=TYPE]` from a board's missed list: a past day in
    range and a known session type, or None (the forms open on today)."""
    day = typed_date(args.get("on"))
    try:
        day = board.check_day(day, today)
    except InvalidInput:
        return None
    session_type = args.get("session")
    if day > today:
        return None
    return day, session_type if session_type in forms.SESSION_TYPES else None


def _render_checkin(standing: board.Standing, status: int = 200, **submitted):
    return render_template(
        "staff/checkin.html",
        standing=standing,
        **_checkin_forms(standing, **submitted),
    ), status


@bp.get("/participants/<int:participant_id>/checkin")
@role_required(*ANY_STAFF)
def checkin(participant_id: int):
    standing = board.checkin_standing(current_actor(), participant_id, now=clock.now())
    return _render_checkin(standing, late=_late_checkin(standing.today, request.args))


def _record(participant_id: int, name: str, form: FlaskForm, call):
    """Validate `form`, call the check-in service, redirect to what it paid."""
    actor = current_actor()
    if form.validate():
        try:
            result = call(actor)
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error, {"collected_on": "on"})
        else:
            return redirect(url_for("staff.checkin_result", event_id=result.event.id))
    standing = board.current_standing(actor, participant_id, now=clock.now())
    return _render_checkin(standing, 422, **{name: form})


@bp.post("/participants/<int:participant_id>/checkin/specimen")
@role_required(*WRITERS)
def record_specimen(participant_id: int):
    actor = current_actor()
    targets = board.checkin_targets(actor, participant_id)
    form = forms.specimen_form(targets, prefix="s")
    return _record(
        participant_id,
        "specimen",
        form,
        lambda actor: checkins.record_specimen(
            actor,
            participant_id,
            form.collected_on.data,
            {} if form.refused.data else form.results(),
            now=clock.now(),
            refused=bool(form.refused.data),
            brac_milli=form.brac_milli(),
            nonce=form.nonce.data or None,
        ),
    )


@bp.post("/participants/<int:participant_id>/checkin/negative")
@role_required(*WRITERS)
def record_all_negative(participant_id: int):
    actor = current_actor()
    targets = board.checkin_targets(actor, participant_id)
    form = forms.AllNegativeForm(prefix="n")
    return _record(
        participant_id,
        "all_negative",
        form,
        lambda actor: checkins.record_specimen(
            actor,
            participant_id,
            form.collected_on.data,
            dict.fromkeys(targets, "negative"),
            now=clock.now(),
            nonce=form.nonce.data or None,
        ),
    )


@bp.post("/participants/<int:participant_id>/checkin/attendance")
@role_required(*WRITERS)
def record_attendance(participant_id: int):
    form = forms.AttendanceForm(prefix="a")
    return _record(
        participant_id,
        "attendance",
        form,
        lambda actor: checkins.record_attendance(
            actor,
            participant_id,
            form.on.data,
            form.session_type.data,
            now=clock.now(),
            nonce=form.nonce.data or None,
            late=bool(form.late.data),
            verification=form.verification.data or None,
            verification_note=form.verification_note.data or None,
        ),
    )


@bp.post("/participants/<int:participant_id>/checkin/excuse")
@role_required(*WRITERS)
def excuse_day(participant_id: int):
    form = forms.ExcuseForm(prefix="e")
    return _record(
        participant_id,
        "excuse",
        form,
        lambda actor: (
            checkins.excuse_session(
                actor,
                participant_id,
                form.on.data,
                form.session_type.data,
                form.reason.data,
                now=clock.now(),
                nonce=form.nonce.data or None,
            )
            if form.session_type.data
            else checkins.excuse_day(
                actor,
                participant_id,
                form.on.data,
                form.reason.data,
                now=clock.now(),
                nonce=form.nonce.data or None,
            )
        ),
    )


@bp.get("/checkins/<int:event_id>")
@role_required(*ANY_STAFF)
def checkin_result(event_id: int):
    outcome = board.checkin_outcome(current_actor(), event_id, now=clock.now())
    return render_template("staff/checkin_result.html", outcome=outcome)


@bp.get("/participants")
@role_required(*ANY_STAFF)
def participants_list():
    now = clock.now()
    rows = participants.view_participant_list(current_actor(), now=now)
    today = clinic_today(current_user.clinic, now)
    return render_template("staff/participants.html", rows=rows, today=today)


@bp.get("/participants/<int:participant_id>")
@role_required(*ANY_STAFF)
def participant_detail(participant_id: int):
    return _render_record(participant_id)


def _render_record(
    participant_id: int,
    status: int = 200,
    adjust=None,
    *,
    again=False,
    access=None,
    **submitted,
):
    """The record page; `again` shows it with a submitted form's errors without a
    second "view" audit row (`submitted`: `exemption`, or `end` as (id, form);
    `access`: the portal-access forms, `pin_form` and `language_form`)."""
    read = records.record_again if again else records.view_record
    full = read(current_actor(), participant_id, now=clock.now())
    return render_template(
        "staff/participant_detail.html",
        full=full,
        record=full.record,
        adjust=adjust or forms.AdjustForm(formdata=None),
        **_access_forms(full.record.participant, **(access or {})),
        **_exemption_forms(full.record, **submitted),
    ), status


def _access_forms(participant, pin_form=None, language_form=None) -> dict:
    """The portal-access forms: a new PIN, and the language (set to the current)."""
    if language_form is None:
        language_form = forms.LanguageForm(formdata=None)
        language_form.language.data = participant.language or "en"
    pin_form = pin_form or forms.PinForm(formdata=None)
    return {"pin_form": pin_form, "language_form": language_form}


def _exemption_forms(record, exemption=None, end=None) -> dict:
    """The add form, and an End form for each exemption still in force."""
    today = record.today
    ends = {
        x.id: forms.end_exemption_form(x, today, formdata=None)
        for x in record.exemptions
        if x.ends_on is None or x.ends_on >= today
    }
    if end is not None:
        exemption_id, form = end
        named = next((x for x in record.exemptions if x.id == exemption_id), None)
        if named is not None:
            form.ends_on.label.text = forms.exempt_until_label(named.analyte)
        ends[exemption_id] = form
    if exemption is None:
        exemption = forms.ExemptionForm(prefix="x", formdata=None)
        forms.today_default(exemption, today)
    return {"exemption": exemption, "ends": ends}


def _correction_message(done: corrections.Correction) -> str:
    if done.approval is not None:
        return "Sent for approval: another staff member must approve it."
    message = "Done. " + _ledger_change(done.entries)
    return f"{message} {done.explanation}" if done.explanation else message


def _ledger_change(entries) -> str:
    if not entries:
        return "The ledger did not change."
    total = sum(e.amount for e in entries if e.account == "points")
    draws = sum(e.amount for e in entries if e.account == "draws")
    parts = [f"{total:+d} points"] if total else []
    parts += [f"{draws:+d} draws"] if draws else []
    return "Ledger adjusted: " + (", ".join(parts) or "no change") + "."


@bp.route("/events/<int:event_id>/void", methods=["GET", "POST"])
@role_required(*WRITERS)
def void_event(event_id: int):
    actor = current_actor()
    form = forms.VoidForm()
    if form.is_submitted():  # the form's own POST is not a second view
        event, participant = records.get_event(actor, event_id)
    else:
        event, participant = corrections.view_void_event(
            actor, event_id, now=clock.now()
        )
    status = 200
    if form.validate_on_submit():
        try:
            done = corrections.void_event(
                actor, event.id, form.reason.data, now=clock.now()
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error)
            status = error.status
        else:
            flash(_correction_message(done))
            return redirect(
                url_for("staff.participant_detail", participant_id=done.participant_id)
            )
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/void_event.html", event=event, participant=participant, form=form
    ), status


@bp.post("/participants/<int:participant_id>/adjust")
@role_required(*WRITERS)
def adjust_points(participant_id: int):
    form = forms.AdjustForm()
    if form.validate():
        try:
            done = corrections.adjust_points(
                current_actor(),
                participant_id,
                form.points.data,
                form.memo.data,
                now=clock.now(),
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error)
            return _render_record(participant_id, error.status, adjust=form, again=True)
        flash(_correction_message(done))
        return redirect(
            url_for("staff.participant_detail", participant_id=participant_id)
        )
    return _render_record(participant_id, 422, adjust=form, again=True)


@bp.post("/participants/<int:participant_id>/exemptions")
@role_required(*WRITERS)
def add_exemption(participant_id: int):
    form = forms.ExemptionForm(prefix="x")
    status = 422
    if form.validate():
        try:
            done = exemptions.add_exemption(
                current_actor(),
                participant_id,
                form.analyte.data,
                form.medication.data,
                form.starts_on.data,
                now=clock.now(),
                ends_on=form.ends_on.data,
                prescriber=form.prescriber.data or None,
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error)
            status = error.status
        else:
            flash("Exemption added. " + _ledger_change(done.posted))
            return redirect(
                url_for("staff.participant_detail", participant_id=participant_id)
            )
    return _render_record(participant_id, status, again=True, exemption=form)


@bp.post("/participants/<int:participant_id>/exemptions/<int:exemption_id>/end")
@role_required(*WRITERS)
def end_exemption(participant_id: int, exemption_id: int):
    form = forms.EndExemptionForm(prefix=f"end-{exemption_id}")
    status = 422
    if form.validate():
        try:
            done = exemptions.end_exemption(
                current_actor(),
                participant_id,
                exemption_id,
                form.ends_on.data,
                now=clock.now(),
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error)
            status = error.status
        else:
            flash("Exemption ended. " + _ledger_change(done.posted))
            return redirect(
                url_for("staff.participant_detail", participant_id=participant_id)
            )
    else:
        # Bad input for an exemption that is not this participant's is still a 404.
        exemptions.exemption_of(current_actor(), participant_id, exemption_id)
    return _render_record(participant_id, status, again=True, end=(exemption_id, form))


def _render_approvals(pending: list, problem: str | None = None, status: int = 200):
    return render_template(
        "staff/approvals.html", pending=pending, problem=problem
    ), status


@bp.get("/approvals")
@role_required(*ANY_STAFF)
def approvals():
    return _render_approvals(
        corrections.view_approvals(current_actor(), now=clock.now())
    )


@bp.post("/approvals/<int:approval_id>/<any(approve, reject):decision>")
@role_required(*WRITERS)
def decide(approval_id: int, decision: str):
    try:
        done = corrections.decide(
            current_actor(), approval_id, decision == "approve", now=clock.now()
        )
    except CMError as error:
        if error.status == 404:
            raise
        pending = corrections.pending_approvals(current_actor())
        return _render_approvals(pending, error.message, error.status)
    approved = replace(done, approval=None)
    flash(
        _correction_message(approved)
        if decision == "approve"
        else "Rejected: nothing changed."
    )
    return redirect(url_for("staff.approvals"))


def _money(cents: int) -> str:
    return current_app.jinja_env.filters["money"](cents)


def _render_redeem(screen: rewards.RedeemScreen, form=None, status: int = 200):
    if form is None:
        form = forms.RedeemForm(formdata=None, nonce=uuid.uuid4().hex)
    form.reward.choices = [SelectChoice("", "Choose…")] + [
        SelectChoice(str(r.id), f"{r.name}: {_price(r, price)}, {r.stock} left")
        for r, price in screen.items
    ]
    return render_template(
        "staff/redeem.html",
        standing=screen.standing,
        form=form,
        items=screen.items,
        non_cash=screen.non_cash,
        item_cap=screen.item_cap,
        unit_cents=screen.unit_cents,
        unit_words=pricing.unit_words,
    ), status


def _price(reward, price) -> str:
    # "$10.00 (20 points)" at the participant's point value; the money alone when
    # none of their protocols pays points (redeeming then says why it cannot).
    return price.describe() if price else _money(reward.cost_cents)


def _redeem_again(participant_id: int, form, status: int):
    # The form re-rendered after bad input is not a second view: no audit row.
    screen = rewards.redeem_screen(current_actor(), participant_id, now=clock.now())
    return _render_redeem(screen, form, status)


@bp.get("/participants/<int:participant_id>/redeem")
@role_required(*WRITERS)
def redeem(participant_id: int):
    return _render_redeem(
        rewards.view_redeem(current_actor(), participant_id, now=clock.now())
    )


@bp.post("/participants/<int:participant_id>/redeem")
@role_required(*WRITERS)
def redeem_post(participant_id: int):
    form = forms.RedeemForm()
    if form.validate():
        try:
            entry = rewards.redeem(
                current_actor(),
                participant_id,
                forms.chosen_id(form.reward.data),
                form.nonce.data,
                now=clock.now(),
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error, {"points": "reward"})
            return _redeem_again(participant_id, form, error.status)
        flash(f"{entry.rule}.")
        return redirect(
            url_for("staff.participant_detail", participant_id=participant_id)
        )
    return _redeem_again(participant_id, form, 422)


def _render_rewards(status: int = 200, **submitted):
    actor = current_actor()
    built = {"add": forms.RewardForm(formdata=None), "receive": None, **submitted}
    return render_template(
        "staff/rewards.html",
        items=rewards.catalogue(actor),
        low=rewards.LOW_STOCK,
        add=built["add"],
        receive=built["receive"],
        receive_for=submitted.get("receive_for"),
    ), status


@bp.get("/rewards")
@role_required(*ANY_STAFF)
def rewards_list():
    return _render_rewards()


@bp.post("/rewards")
@role_required(*ADMINS)
def add_reward():
    form = forms.RewardForm()
    if form.validate():
        try:
            rewards.add_reward(
                current_actor(),
                form.name.data,
                tier=form.tier.data or None,
                cost_cents=form.cost.data,
                value_cents=form.value_cents(),
                stock=form.stock.data or 0,
                now=clock.now(),
                kind=form.kind.data or "goods",
            )
        except CMError as error:
            show_error(form, error, {"cost_cents": "cost"})
            return _render_rewards(error.status, add=form)
        flash(f"Added {form.name.data.strip()} to the catalogue.")
        return redirect(url_for("staff.rewards_list"))
    return _render_rewards(422, add=form)


@bp.post("/rewards/<int:reward_id>/stock")
@role_required(*WRITERS)
def receive_stock(reward_id: int):
    form = forms.StockForm()
    if form.validate():
        try:
            rewards.receive_stock(
                current_actor(),
                reward_id,
                form.quantity.data,
                form.note.data,
                now=clock.now(),
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error)
            return _render_rewards(error.status, receive=form, receive_for=reward_id)
        flash("Stock received.")
        return redirect(url_for("staff.rewards_list"))
    return _render_rewards(422, receive=form, receive_for=reward_id)


@bp.get("/custody")
@role_required(*ANY_STAFF)
def custody():
    text = request.args.get("month", "")
    this_month = clinic_today(current_user.clinic, clock.now())
    month, problem = this_month, None
    try:
        month = date.fromisoformat(f"{text}-01") if text else month
    except ValueError:
        problem = "Enter the month as YYYY-MM."
    try:
        report = rewards.reconcile_month(current_actor(), month)
    except InvalidInput as error:  # a month the calendar cannot reach (9999-12)
        problem = error.message
        report = rewards.reconcile_month(current_actor(), this_month)
    return render_template(
        "staff/custody.html", report=report, bad=problem
    ), 422 if problem else 200


@bp.route("/participants/new", methods=["GET", "POST"])
@role_required(*WRITERS)
def register():
    form = forms.RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            person = participants.register_participant(
                current_actor(),
                current_user.clinic_id,
                form.code.data,
                now=clock.now(),
                display_name=form.display_name.data,
                pin=form.pin.data or None,
            )
        except CMError as error:
            show_error(form, error)
            status = error.status
        else:
            flash(f"Registered {person.code}. Enrol them on a protocol next.")
            return redirect(url_for("staff.enroll", participant_id=person.id))
    elif form.is_submitted():
        status = 422
    return render_template("staff/register.html", form=form), status


def _protocol_choices(actor) -> list[SelectChoice]:
    versions = clinics.protocols_of(actor.clinic_id)
    return [SelectChoice("", "Choose…")] + [
        SelectChoice(str(p.id), f"{protocol_label(p)} (v{p.version})") for p in versions
    ]


@bp.route("/participants/<int:participant_id>/enroll", methods=["GET", "POST"])
@role_required(*WRITERS)
def enroll(participant_id: int):
    actor = current_actor()
    standing = board.current_standing(actor, participant_id, now=clock.now())
    form = forms.EnrollForm()
    form.protocol.choices = _protocol_choices(actor)
    end = forms.EndForm(formdata=None)
    forms.today_default(end, standing.today)
    if not form.is_submitted():
        forms.today_default(form, standing.today)
    status = 200
    if form.validate_on_submit():
        try:
            _enroll_with(actor, participant_id, form)
        except CMError as error:
            show_error(form, error, _ENROLL_FIELDS)
            status = error.status
        else:
            flash("Enrolled.")
            return redirect(
                url_for("staff.participant_detail", participant_id=participant_id)
            )
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/enroll.html", standing=standing, form=form, end=end
    ), status


_ENROLL_FIELDS = {
    "participant": "protocol",
    "exemptions[0].analyte": "exempt_analyte",
    "exemptions[0].medication": "exempt_medication",
    "exemptions[0].starts_on": "exempt_from",
    "exemptions[0].ends_on": "exempt_until",
}


def _enroll_with(actor, participant_id: int, form: forms.EnrollForm) -> None:
    protocol_id = forms.chosen_id(form.protocol.data)
    days = [int(d) for d in form.testing_days.data]
    phases = next(
        (
            len(p.spec["phases"])
            for p in clinics.protocols_of(actor.clinic_id)
            if p.id == protocol_id
        ),
        0,
    )
    participants.enroll(
        actor,
        participant_id,
        protocol_id,
        form.start_on.data,
        now=clock.now(),
        testing_days=dict.fromkeys(range(phases), days) if days else None,
        targets=form.targets.data or None,
        exemptions=form.exemptions(),
    )


@bp.post("/participants/<int:participant_id>/end")
@role_required(*WRITERS)
def end_enrollment(participant_id: int):
    actor = current_actor()
    end = forms.EndForm()
    if end.validate():
        try:
            participants.end_enrollment(
                actor,
                participant_id,
                end.status.data,
                end.ends_on.data,
                now=clock.now(),
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(end, error)
        else:
            flash(f"Enrollment {end.status.data}.")
            return redirect(
                url_for("staff.participant_detail", participant_id=participant_id)
            )
    standing = board.current_standing(actor, participant_id, now=clock.now())
    form = forms.EnrollForm(formdata=None)
    form.protocol.choices = _protocol_choices(actor)
    status = 409 if end.form_errors else 422
    return render_template(
        "staff/enroll.html", standing=standing, form=form, end=end
    ), status


@bp.route("/protocols", methods=["GET", "POST"])
@role_required(*ANY_STAFF)
def protocols():
    actor = current_actor()
    # Every role reads the versions; only an admin adds one.
    if request.method == "POST" and actor.role not in ADMINS:
        abort(403)
    form = forms.ProtocolForm()
    status = 200
    if form.validate_on_submit():
        document = form.parsed()
        if document is not None:
            try:
                added = clinics.add_protocol_version(
                    actor, actor.clinic_id, document, now=clock.now()
                )
            except CMError as error:
                form.spec.errors = [f"{error.field}: {error.message}"]
            else:
                flash(f"Added {added.name} version {added.version}.")
                return redirect(url_for("staff.protocol_preview", protocol_id=added.id))
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/protocols.html",
        versions=protocol_admin.list_protocols(actor),
        form=form,
    ), status


@bp.get("/protocols/<int:protocol_id>")
@role_required(*ANY_STAFF)
def protocol_preview(protocol_id: int):
    protocol, result = protocol_admin.preview(current_actor(), protocol_id)
    return render_template(
        "staff/protocol_preview.html", protocol=protocol, result=result
    )
