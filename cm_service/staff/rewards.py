"""Rewards: the catalogue and its stock, redemption, and custody of what went out."""

from __future__ import annotations

import uuid
from datetime import date

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..auth import ADMINS, ANY_STAFF, WRITERS, current_actor, role_required
from ..services.cm import (
    pricing,
    rewards,
)
from ..services.cm.timeline import clinic_today
from ..services.errors import CMError, InvalidInput
from . import forms
from .common import show_error
from .participants import record_url

bp = Blueprint("rewards", __name__)


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
        return redirect(record_url(participant_id))
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
        return redirect(url_for(".rewards_list"))
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
        return redirect(url_for(".rewards_list"))
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
