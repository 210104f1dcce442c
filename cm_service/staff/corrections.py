"""Corrections and approvals: voiding an event, adjusting points, maker-checker."""

from __future__ import annotations

from dataclasses import replace

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    url_for,
)

from .. import clock
from ..auth import ANY_STAFF, WRITERS, current_actor, role_required
from ..services.cm import (
    corrections,
)
from ..services.errors import CMError
from ..services.reads import records
from . import forms
from .common import show_error
from .participants import ledger_change, record_url, render_record

bp = Blueprint("corrections", __name__)


def _correction_message(done: corrections.Correction) -> str:
    if done.approval is not None:
        return "Sent for approval: another staff member must approve it."
    message = "Done. " + ledger_change(done.entries)
    return f"{message} {done.explanation}" if done.explanation else message


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
            return redirect(record_url(done.participant_id))
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
            return render_record(participant_id, error.status, adjust=form, again=True)
        flash(_correction_message(done))
        return redirect(record_url(participant_id))
    return render_record(participant_id, 422, adjust=form, again=True)


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
    return redirect(url_for(".approvals"))
