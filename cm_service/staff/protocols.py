"""Protocols: the clinic's versions, adding one as a document, and a preview."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import clock
from ..auth import ADMINS, ANY_STAFF, current_actor, role_required
from ..services.admin import clinics, protocol_admin
from ..services.errors import CMError
from . import forms

bp = Blueprint("protocols", __name__)


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
                return redirect(url_for(".protocol_preview", protocol_id=added.id))
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
