"""The participant's portal card: what staff print and hand over so a participant
reaches their clinic's own login (no page lists the clinics, issue 15).

The card carries the clinic's name, its login link as text and as a QR code (inline
SVG drawn here by segno, offline), and the participant's code; never the PIN. Its
route joins the staff blueprint (`web.init_app` imports this module first).
"""

from __future__ import annotations

import segno
from flask import render_template, url_for
from markupsafe import Markup

from ..auth import ANY_STAFF, current_actor, role_required
from ..services import portal_links
from . import views
from .views import bp

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
    card = portal_links.card(current_actor(), participant_id, now=views._now())
    link = url_for("portal.clinic_login", slug=card.clinic.portal_slug, _external=True)
    qr = qr_svg(link, "QR code of the portal link")
    return render_template("staff/portal_card.html", card=card, link=link, qr=qr)
