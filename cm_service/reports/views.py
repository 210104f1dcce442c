"""Staff outcome reports and their CSV export, for admins and auditors.

Reads `services.reports`; the CSV download is a disclosure and is audited there.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from ..auth import current_actor, role_required
from ..services import reports
from ..services.errors import InvalidInput
from ..services.timeline import clinic_today

bp = Blueprint("reports", __name__, url_prefix="/staff/reports")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _day(name: str, default: date) -> date:
    value = request.args.get(name, "").strip()
    if not value:
        return default
    try:
        return date.fromisoformat(value) if ISO_DAY.match(value) else date.min
    except ValueError:
        return date.min


def _report() -> reports.OutcomeReport:
    """The report the query asks for; the last 12 weeks by default."""
    today = clinic_today(current_user.clinic, _now())
    start = _day("from", today - timedelta(weeks=12))
    end = _day("to", today)
    for name, value in (("from", start), ("to", end)):
        if value == date.min:
            raise InvalidInput(name, "Enter the date as YYYY-MM-DD.")
    return reports.outcome_report(
        current_actor(),
        start,
        end,
        now=_now(),
        missing=request.args.get("missing", "positive"),
    )


def _refused(error: InvalidInput):
    page = render_template("reports/outcomes.html", error=error, args=request.args)
    return page, 422


@bp.get("/")
@role_required(*reports.READERS)
def outcomes():
    try:
        report = _report()
    except InvalidInput as error:
        return _refused(error)
    return render_template(
        "reports/outcomes.html",
        report=report,
        summary=reports.summary_fields(report),
        rows=[reports.row_fields(r, report.missing) for r in report.rows],
        conventions=reports.CONVENTIONS,
        args=request.args,
    )


@bp.get("/outcomes.csv")
@role_required(*reports.READERS)
def outcomes_csv():
    try:
        report = _report()
    except InvalidInput as error:
        return _refused(error)
    reports.record_disclosure(current_actor(), report, "csv", now=_now())
    name = f"outcomes-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return Response(
        reports.as_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
