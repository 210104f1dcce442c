"""The protocol builder pages: an admin makes a protocol version with a form, not JSON.

The form's values go to `services.admin.protocol_builder`, which builds and validates
the
spec document; this module only picks the action (add or remove a row, preview, save),
renders, and stores through `clinics.add_protocol_version` (which audits). Its routes
join the staff blueprint (`web.init_app` imports this module before registering it).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from .. import clock, rules
from ..auth import ADMINS, ANY_STAFF, current_actor, role_required
from ..rules.spec import MAPPED_RESULTS, RESETTABLE, RESULT_OUTCOMES, WEEKDAYS
from ..rules.substances import substance_label
from ..services.access.actors import Actor
from ..services.admin import clinics, protocol_admin
from ..services.admin import protocol_builder as builder
from ..services.cm.checkins import ANALYTES, SESSION_TYPES
from ..services.errors import CMError, NotFound
from . import forms
from .forms import SESSION_LABELS
from .protocols import bp

# Choices as (value, label): what the page offers; the spec decides what is valid.
CHOICES: dict[str, Any] = {
    "weekdays": [(day, day.capitalize()) for day in WEEKDAYS],
    "session_types": [(kind, SESSION_LABELS[kind]) for kind in SESSION_TYPES],
    "results": MAPPED_RESULTS,
    "result_outcomes": [(o, o.capitalize()) for o in RESULT_OUTCOMES],
    "combine": [
        ("all", "All targets negative"),
        ("any", "Any target negative"),
    ],
    "corrections": [
        ("no_clawback", "Never take back what was paid (offset later awards)"),
        ("clawback", "Take back the difference"),
    ],
    "extra_tests": [
        ("reset_only", "A positive resets; a negative pays nothing"),
        ("ignore", "Ignore them"),
        ("count", "Count them as scheduled tests"),
    ],
    "specimen_types": [
        ("none", "No payment for specimens"),
        ("fixed", "Fixed points per negative"),
        ("escalating", "Escalating points (vouchers)"),
        ("prize_draws", "Prize draws"),
    ],
    "attendance_types": [
        ("prize_draws", "Prize draws"),
        ("escalating", "Escalating points"),
        ("fixed", "Fixed points per session"),
    ],
    "per": [("test", "Each negative test"), ("week", "Each all-negative week")],
    "specimen_resets": [(r, r.capitalize()) for r in RESETTABLE],
    "session_resets": [(r, r.capitalize()) for r in builder.SESSION_RESETS],
    "crossing": [
        ("partial", "Pay up to the cap"),
        ("none", "Pay nothing for that award"),
    ],
    "caps": [
        ("per_test", "Per test ($)"),
        ("per_week", "Per week ($)"),
        ("per_month", "Per month ($)"),
        ("per_enrollment", "Per enrollment ($)"),
        ("per_calendar_year", "Per calendar year ($)"),
    ],
}


@bp.route("/protocols/build", methods=["GET", "POST"])
@role_required(*ADMINS)
def protocol_builder():
    actor = current_actor()
    if request.method == "GET":
        fields, notes = _starting_fields(actor)
        return _page(actor, fields, notes=notes)
    fields = builder.fields_from_form(request.form)
    action = next((name for name in builder.ACTIONS if name in request.form), None)
    if action is not None:
        # A row added or removed: the form again, nothing checked yet.
        changed = builder.apply_action(fields, action, request.form[action])
        return _page(actor, changed)
    built = builder.build(fields)
    if not built.ok:
        return _page(actor, fields, built=built), 422
    if "save" not in request.form:
        return _page(actor, fields, preview=builder.preview(built.spec))
    try:
        added = clinics.add_protocol_version(
            actor, actor.clinic_id, built.document, now=clock.now()
        )
    except CMError as error:
        return _page(actor, fields, built=_refused(built, error)), error.status
    flash(f"Added {added.name} version {added.version}.")
    return redirect(url_for(".protocol_preview", protocol_id=added.id))


@bp.get("/protocols/<int:protocol_id>/export")
@role_required(*ANY_STAFF)
def protocol_export(protocol_id: int):
    """A version's spec document as a JSON file (for experts, and other clinics)."""
    protocol = protocol_admin.version(current_actor(), protocol_id)
    body = json.dumps(protocol.spec, indent=2, ensure_ascii=False) + "\n"
    filename = f"{protocol.key}-v{protocol.version}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _starting_fields(actor: Actor) -> tuple[dict[str, Any], list[str]]:
    """The form filled from ?from=<version id>, ?preset=<key> or ?start=<either>."""
    start = request.args.get("start", "")
    kind, _, value = start.partition(":")
    version = request.args.get("from") or (value if kind == "version" else "")
    preset = request.args.get("preset") or (value if kind == "preset" else "")
    if version:
        # A value that is no id (not digits, past INTEGER) names no protocol.
        document = protocol_admin.version(actor, forms.chosen_id(version)).spec
    elif preset:
        if preset not in rules.preset_keys():
            raise NotFound("No such preset.", "preset")
        document = rules.load_preset(preset)
    else:
        return builder.blank_fields(), []
    try:
        return builder.fields_from_document(document)
    except rules.SpecError as error:
        # A version stored under an older parser: say why rather than fail.
        return builder.blank_fields(), [f"That version cannot be edited here: {error}"]


def _refused(built: builder.Built, error: CMError) -> builder.Built:
    """The service's refusal next to its field (it names `spec.<path>`)."""
    path = (error.field or "").removeprefix("spec.")
    name = builder.field_name(path)
    refused = builder.Built(None, None, {}, [])
    if path and name:
        refused.errors[name] = [error.message]
    else:
        refused.form_errors.append(error.message)
    return refused


def _page(
    actor: Actor,
    fields: dict[str, Any],
    *,
    built: builder.Built | None = None,
    preview: builder.Preview | None = None,
    notes: list[str] | None = None,
) -> str:
    errors = built.errors if built else {}
    form_errors = built.form_errors if built else []
    return render_template(
        "staff/protocol_builder.html",
        fields=fields,
        errors=errors,
        form_errors=form_errors,
        problems=_problems(errors, form_errors),
        notes=notes or [],
        preview=preview,
        choices={**CHOICES, "targets": _targets(fields)},
        presets=[(key, _preset_words(key)) for key in rules.preset_keys()],
        versions=protocol_admin.list_protocols(actor),
    )


def _preset_words(key: str) -> str:
    """A preset as the start select offers it: its short name, then its full one."""
    document = rules.load_preset(key)
    label = document.get("label")
    return f"{label}: {document['name']}" if label else document["name"]


def _targets(fields: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (name, substance_label(name)) for name in fields["target_choices"] or ANALYTES
    ]


def _problems(errors: dict[str, list[str]], form_errors: list[str]) -> list:
    """The error summary: where, and each field's first message, linking to it."""
    linked = [
        (name, f"{_where(name)}: {messages[0]}")
        for name, messages in errors.items()
        if messages
    ]
    return [*linked, *((None, message) for message in form_errors)]


# The last part of a field's name -> its label on the page.
_LABELS = {
    "unit": "Value of one point",
    "bowl": "Prize bowl",
    "targets": "Target substances",
    "combine": "A specimen is negative when",
    "weeks": "Weeks",
    "weeks_from": "From week",
    "weeks_to": "To week",
    "type": "Schedule",
    "amount": "Fixed amount",
    "per": "Escalates after",
    "bonus_amount": "Bonus",
    "reset_on": "Back to the start after",
    "recovery_after": "Back to the old level after",
    "session_types": "Sessions that count",
    "days": "Days the sessions are held",
    "scheduled": "By appointment",
    "on_time_minutes": "Late after",
    "tier": "Tier name",
    "value": "Prize value",
    "crossing": "An award that would cross a cap",
    "count_draws": "Count prize draws against the caps",
    **{name: label.removesuffix(" ($)") for name, label in CHOICES["caps"]},
}


def _where(name: str) -> str:
    """A field's place in words: "phases-1-attendance-0-days" -> "Phase 2,
    attendance 1: Days the sessions are held"."""
    parts = name.split("-")
    places = []
    if parts[0] in ("phases", "bowl") and len(parts) > 2:
        places.append(
            f"{'Phase' if parts[0] == 'phases' else 'Tier'} {int(parts[1]) + 1}"
        )
    if "specimen" in parts:
        places.append("specimens")
    if "attendance" in parts:
        places.append(f"attendance {int(parts[parts.index('attendance') + 1]) + 1}")
    if parts[0] in ("results", "caps"):
        places.append(parts[0].capitalize())
    label = _LABELS.get(parts[-1], parts[-1].replace("_", " ").capitalize())
    return ", ".join(places) + (": " if places else "") + label
