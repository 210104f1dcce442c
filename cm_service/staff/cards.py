"""The participant's portal card: what staff print and hand over so a participant
reaches their clinic's own login (no page lists the clinics, issue 15).

The card carries the clinic's name, its login link as text and as a QR code (inline
SVG drawn here by segno, offline), and the participant's code; never the PIN. Staff
set or reset the PIN and the portal language from the participant's page (its
"Portal access" section, posted here). These routes join the staff blueprint
(`web.init_app` imports this module first).
"""

from __future__ import annotations

import segno
from flask import flash, redirect, render_template, url_for
from markupsafe import Markup

from .. import clock
from ..auth import ANY_STAFF, WRITERS, current_actor, role_required
from ..services.access import portal_links
from ..services.cm import participants
from ..services.errors import CMError
from . import forms
from .common import show_error
from .participants import bp, render_record

QR_SCALE = 4  # the printed size comes from card.css; this only sets the viewBox


def qr_svg(link: str, label: str) -> Markup:
    """`link` as a QR code: an <svg> image named `label`, with no size, style or
    script of its own (the CSP allows none inline)."""
    code = segno.make(link, error="m", micro=False)
    svg = code.svg_inline(scale=QR_SCALE, svgclass="qr", lineclass=None, omitsize=True)
    named = Markup('<svg role="img" aria-label="{}" ').format(label)
    return named + Markup(svg.removeprefix("<svg "))  # noqa: S704 - segno's markup


@bp.get("/participants/<int:participant_id>/card")
@role_required(*ANY_STAFF)
def participant_card(participant_id: int):
    card = portal_links.card(current_actor(), participant_id, now=clock.now())
    link = url_for("portal.clinic_login", slug=card.clinic.portal_slug, _external=True)
    qr = qr_svg(link, "QR code of the portal link")
    return render_template("staff/portal_card.html", card=card, link=link, qr=qr)


@bp.post("/participants/<int:participant_id>/pin")
@role_required(*WRITERS)
def set_pin(participant_id: int):
    form = forms.PinForm()
    if not form.validate():
        return _refused(participant_id, pin_form=form)
    try:
        participants.set_pin(
            current_actor(), participant_id, form.pin.data, now=clock.now()
        )
    except CMError as error:
        if error.status == 404:
            raise
        show_error(form, error)
        return _refused(participant_id, error.status, pin_form=form)
    flash("PIN set. Any portal session of this participant has ended.")
    return redirect(url_for(".participant_detail", participant_id=participant_id))


@bp.post("/participants/<int:participant_id>/language")
@role_required(*WRITERS)
def set_language(participant_id: int):
    form = forms.LanguageForm()
    if not form.validate():
        return _refused(participant_id, language_form=form)
    try:
        participants.set_language(
            current_actor(), participant_id, form.language.data, now=clock.now()
        )
    except CMError as error:
        if error.status == 404:
            raise
        show_error(form, error)
        return _refused(participant_id, error.status, language_form=form)
    flash("Portal language saved.")
    return redirect(url_for(".participant_detail", participant_id=participant_id))


def _refused(participant_id: int, status: int = 422, **access):
    """The record again, with the form's errors and nothing written."""
    return render_record(participant_id, status, again=True, access=access)
