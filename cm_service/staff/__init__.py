"""The staff side, by area: one small blueprint each, all under /staff.

Each area's endpoints are `staff.<area>.<view>`:
- login and account: `account`
- today and check-in: `today`
- participants and enrolment: `participants` (with `cards`, `consents`, `reminders`)
- sessions and groups: `groups`
- corrections and approvals: `corrections`
- rewards, draws and custody: `rewards` (with `draws`)
- protocols: `protocols` (with `protocol_builder`)
- funding programs: `funding`
- operations: `ops`
- reports: `reports/`

A new staff page goes in its area's module, renders a template under
`templates/staff/` that extends `staff/base.html`, and calls one service.
"""

from __future__ import annotations

from flask import Blueprint

from ..rules.substances import substance_label, substance_list, substance_words
from ..services.admin.protocol_admin import protocol_label
from . import (
    account,
    cards,  # noqa: F401 - routes on participants.bp
    consents,  # noqa: F401 - routes on participants.bp
    corrections,
    draws,  # noqa: F401 - routes on rewards.bp
    funding,
    groups,
    ops,
    participants,
    protocol_builder,  # noqa: F401 - routes on protocols.bp
    protocols,
    reminders,  # noqa: F401 - routes on participants.bp
    rewards,
    today,
)
from .reports import tax  # noqa: F401 - routes on reports.views.bp
from .reports import views as reports

bp = Blueprint("staff", __name__, url_prefix="/staff")
for area in (
    account,
    today,
    participants,
    groups,
    corrections,
    rewards,
    protocols,
    funding,
    ops,
    reports,
):
    bp.register_blueprint(area.bp)

# Plain words on every page (issue 16): a protocol's short name, substances by
# name, not code ("MDMA/ecstasy" for mdma). Exports and the API keep the codes.
bp.add_app_template_filter(protocol_label, "protocol_label")
bp.add_app_template_filter(substance_words, "substance")
bp.add_app_template_filter(substance_label, "substance_label")
bp.add_app_template_filter(substance_list, "substances")
