"""Staff pages for a participant's consents to share and the disclosures made
under them (42 CFR Part 2; docs/consent.md). The routes join the staff blueprint
(`web.init_app` imports this module before registering it) and work as `views`
does: parse, call one service, render; a service's InvalidInput or Conflict comes
back next to the field it names, with nothing written.
"""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for

from .. import clock
from ..auth import ANY_STAFF, WRITERS, current_actor, role_required
from ..services.access import consents
from ..services.errors import CMError, NotFound
from ..services.integrations import fhir
from ..services.validation import INT_MAX
from . import consent_forms
from .common import show_error
from .participants import bp


def _render(
    participant_id: int,
    status: int = 200,
    *,
    again: bool = False,
    form: consent_forms.ConsentForm | None = None,
    revoke: tuple[int, consent_forms.RevokeConsentForm] | None = None,
    export_error: consents.ConsentRequired | None = None,
):
    page = consents.view_consents(
        current_actor(), participant_id, now=clock.now(), again=again
    )
    if form is None:
        form = consent_forms.ConsentForm(formdata=None)
        form.signed_on.data = page.today
    revokes = {
        c.id: consent_forms.revoke_form(c.id, page.today, formdata=None)
        for c in page.active
    }
    if revoke is not None:
        revokes[revoke[0]] = revoke[1]
    return render_template(
        "staff/consents.html",
        page=page,
        p=page.participant,
        form=form,
        revokes=revokes,
        purposes=consent_forms.PURPOSE_LABELS,
        shares=consent_forms.SHARE_LABELS,
        notice=consents.NOTICE,
        export_error=export_error,
        args=request.args,
    ), status


@bp.get("/participants/<int:participant_id>/consents")
@role_required(*ANY_STAFF)
def participant_consents(participant_id: int):
    return _render(participant_id)


@bp.post("/participants/<int:participant_id>/consents")
@role_required(*WRITERS)
def record_consent(participant_id: int):
    form = consent_forms.ConsentForm()
    if not form.validate():
        return _render(participant_id, 422, again=True, form=form)
    try:
        consents.record_consent(
            current_actor(),
            participant_id,
            recipient=form.recipient.data or "",
            recipient_kind=form.recipient_kind.data or "",
            purposes=form.purposes.data or [],
            shares=form.shares.data or [],
            signed_on=form.signed_on.data,
            expires_on=form.expires_on.data,
            purpose_note=form.purpose_note.data,
            now=clock.now(),
        )
    except CMError as error:
        if error.status == 404:
            raise
        show_error(form, error)
        return _render(participant_id, error.status, again=True, form=form)
    flash(f"Consent to share with {form.recipient.data.strip()} recorded.")
    return redirect(url_for(".participant_consents", participant_id=participant_id))


@bp.post("/participants/<int:participant_id>/consents/<int:consent_id>/revoke")
@role_required(*WRITERS)
def revoke_consent(participant_id: int, consent_id: int):
    if consent_id > INT_MAX:
        raise NotFound("No such consent.", "consent")
    page = consents.view_consents(
        current_actor(), participant_id, now=clock.now(), again=True
    )
    if consent_id not in {r.consent.id for r in page.consents}:
        raise NotFound("No such consent.", "consent")
    form = consent_forms.revoke_form(consent_id, page.today)
    if not form.validate():
        return _render(participant_id, 422, again=True, revoke=(consent_id, form))
    try:
        consents.revoke_consent(
            current_actor(),
            consent_id,
            revoked_on=form.revoked_on.data,
            note=form.revocation_note.data or "",
            now=clock.now(),
        )
    except CMError as error:
        if error.status == 404:
            raise
        show_error(form, error)
        return _render(
            participant_id, error.status, again=True, revoke=(consent_id, form)
        )
    flash("Consent revoked: nothing more is shared under it, from now on.")
    return redirect(url_for(".participant_consents", participant_id=participant_id))


@bp.get("/participants/<int:participant_id>/consents/fhir")
@role_required(*ANY_STAFF)
def participant_fhir_export(participant_id: int):
    """The participant's test results as a FHIR Bundle for the recipient the form
    names: a disclosure, refused on the consents page (403) naming what is
    missing when no consent covers it."""
    args = request.args
    try:
        recipient = consents.recipient_for(
            current_actor(),
            args.get("recipient"),
            args.get("purpose"),
            args.get("recipient_class"),
            default_purpose="treatment",
        )
        bundle = fhir.export_observations(
            current_actor(),
            participant_id,
            now=clock.now(),
            recipient=recipient,
            route="staff FHIR export",
        )
    except consents.ConsentRequired as refused:
        return _render(participant_id, 403, again=True, export_error=refused)
    name = f"observations-{participant_id}.fhir.json"
    return Response(
        json.dumps(bundle),
        mimetype="application/fhir+json",
        headers={
            "X-Part2-Notice": consents.NOTICE,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
