"""Staff pages for prize draws: the draw screen, making one or every waiting draw in
one submit, handing a prize out and recording one as owed.

The routes join the staff blueprint (`web.init_app` imports this module before
registering it) and work as `views` does: parse, call one service, render; a refused
draw re-renders the screen with the service's message and writes nothing.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField

from .. import clock
from ..auth import ANY_STAFF, WRITERS, current_actor, role_required
from ..rules.draws import prize_words
from ..services.cm import draws, rewards
from ..services.errors import CMError, InvalidInput
from . import forms
from .common import typed_date
from .rewards import bp

if TYPE_CHECKING:
    from ..models import Draw


class DrawForm(FlaskForm):
    """Draw one or all: the button pressed sends `count`; the nonce, made when the
    page was shown, makes the form draw once however often it is sent."""

    nonce = HiddenField()
    count = StringField()


@bp.app_template_filter("prize")
def prize_filter(draw: Draw) -> str:
    """A draw's outcome in words for any page: "Small prize: $1.00"."""
    return prize_words(draw.tier, draw.value_cents)


@bp.app_template_filter("tally")
def tally_filter(prizes) -> str:
    """Many draws in one line: "14 × Small prize: $1.00 · 26 × Good job! ..."."""
    return " · ".join(f"{n} × {words}" for words, n in draws.tally(list(prizes)))


@bp.app_template_global("draws_waiting")
def draws_waiting() -> list[draws.Waiting]:
    """For the Today board's partial: who has draws to make or prizes to collect."""
    if not current_user.is_authenticated:
        return []
    return draws.waiting(current_actor())


def _render(screen: draws.DrawScreen, status: int = 200, problem: str | None = None):
    return render_template(
        "staff/draws.html", screen=screen, nonce=uuid.uuid4().hex, problem=problem
    ), status


def _again(participant_id: int, status: int, problem: str):
    # After a refusal the screen is read again without a second view row.
    return _render(draws.draw_screen(current_actor(), participant_id), status, problem)


@bp.get("/participants/<int:participant_id>/draws", endpoint="draws")
@role_required(*ANY_STAFF)
def show(participant_id: int):
    screen = draws.view_draws(
        current_actor(), participant_id, now=clock.now(), made=request.args.get("made")
    )
    return _render(screen)


@bp.get("/participants/<int:participant_id>/draws/receipt", endpoint="draw_receipt")
@role_required(*ANY_STAFF)
def receipt(participant_id: int):
    """A day's draws to print and sign (`?day=YYYY-MM-DD`, default today); a bad
    day shows today's receipt with the message."""
    actor, problem, status = current_actor(), None, 200
    try:
        made = draws.view_receipt(
            actor,
            participant_id,
            typed_date(request.args.get("day")),
            now=clock.now(),
        )
    except InvalidInput as bad:
        made = draws.view_receipt(actor, participant_id, None, now=clock.now())
        problem, status = bad.message, 422
    return render_template(
        "staff/draw_receipt.html", receipt=made, problem=problem
    ), status


@bp.post("/participants/<int:participant_id>/draws", endpoint="make_draw")
@role_required(*WRITERS)
def make(participant_id: int):
    form = DrawForm()
    count = form.count.data or ""
    try:
        draws.draw_many(
            current_actor(),
            participant_id,
            forms.chosen_id(count) or None,
            form.nonce.data or "",
            now=clock.now(),
            secret=current_app.config["DRAW_SECRET"].encode(),
        )
    except CMError as error:
        if error.status == 404:
            raise
        return _again(participant_id, error.status, error.message)
    return redirect(
        url_for(".draws", participant_id=participant_id, made=form.nonce.data)
    )


@bp.post("/draws/<int:draw_id>/prize", endpoint="hand_out_prize")
@role_required(*WRITERS)
def hand_out(draw_id: int):
    form = forms.PrizeForm()
    participant_id = rewards.draw_owner(current_actor(), draw_id)
    reward_id = forms.chosen_id(form.reward.data)
    if not form.validate() or not reward_id:
        return _again(participant_id, 422, "Choose the prize handed out.")
    try:
        rewards.hand_out_prize(current_actor(), draw_id, reward_id, now=clock.now())
    except CMError as error:
        if error.status == 404:
            raise
        return _again(participant_id, error.status, error.message)
    flash("Prize handed out and taken from stock.")
    return redirect(url_for(".draws", participant_id=participant_id))


@bp.post("/draws/<int:draw_id>/owe", endpoint="owe_prize")
@role_required(*WRITERS)
def owe(draw_id: int):
    participant_id = rewards.draw_owner(current_actor(), draw_id)
    try:
        draws.owe_prize(current_actor(), draw_id, now=clock.now())
    except CMError as error:
        if error.status == 404:
            raise
        return _again(participant_id, error.status, error.message)
    flash("Recorded as owed: hand the prize out here when stock arrives.")
    return redirect(url_for(".draws", participant_id=participant_id))
