"""Staff outcome reports and their CSV export, for admins and auditors.

Reads `services.reads.reports`; a CSV download is audited there. An identifiable one is
a disclosure (42 CFR Part 2): the export form names the recipient and purpose, the
page says how many participants have a matching consent and why the others are
left out, and the download holds only those (a 403 page naming what is missing
when none does). De-identified downloads need no consent.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user

from ... import clock
from ...auth import current_actor, role_required
from ...services.access import consents
from ...services.cm.timeline import clinic_today
from ...services.errors import InvalidInput
from ...services.reads import fidelity, report_charts, report_exports, reports
from .figures import report_figures

bp = Blueprint("reports", __name__, url_prefix="/reports")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    today = clinic_today(current_user.clinic, clock.now())
    start = _day("from", today - timedelta(weeks=12))
    end = _day("to", today)
    for name, value in (("from", start), ("to", end)):
        if value == date.min:
            raise InvalidInput(name, "Enter the date as YYYY-MM-DD.")
    return reports.outcome_report(
        current_actor(),
        start,
        end,
        now=clock.now(),
        missing=request.args.get("missing", "positive"),
    )


def _refused(error: InvalidInput):
    page = render_template(
        "staff/reports/outcomes.html", error=error, args=request.args
    )
    return page, 422


@bp.get("/")
@role_required(*reports.READERS)
def outcomes():
    try:
        report = _report()
    except InvalidInput as error:
        return _refused(error)
    share, consent_error = None, None
    if "recipient" in request.args:
        try:
            share = _share(report)
        except consents.ConsentRequired as refused:
            consent_error = refused
    return _render_report(report, share=share, consent_error=consent_error)


def _render_report(report: reports.OutcomeReport, status: int = 200, **context):
    return render_template(
        "staff/reports/outcomes.html",
        report=report,
        summary={
            **report_exports.summary_of(report.episodes, report.missing),
            "paid_out_cents": report.paid_out_cents,
        },
        by_protocol=report_exports.by_protocol(report),
        figures=report_figures(report_charts.series_of(report)),
        rows=[
            report_exports.episode_fields(e, report.missing) for e in report.episodes
        ],
        glossary=report_exports.dictionary(),
        fidelity=fidelity.fidelity(
            current_actor(), report.start, report.end, report=report
        ),
        args=request.args,
        purposes=consents.PURPOSE_WORDS,
        **context,
    ), status


def _recipient():
    """The recipient the export form names (identifiable exports need one)."""
    args = request.args
    return consents.recipient_for(
        current_actor(),
        args.get("recipient"),
        args.get("purpose"),
        args.get("recipient_class"),
        default_purpose="research",
    )


def _share(report: reports.OutcomeReport) -> reports.Export:
    """Read-only: who an identifiable export to the named recipient would hold."""
    recipient = _recipient()
    allowed, refusals = reports.sort_out(report, recipient, now=clock.now())
    kept = replace(
        report,
        episodes=tuple(e for e in report.episodes if e.participant_id in allowed),
    )
    return reports.Export(kept, False, recipient, reports.count_left_out(refusals))


def _download(what: str, table) -> Response:
    try:
        report = _report()
    except InvalidInput as error:
        return _refused(error)
    deidentified = request.args.get("deidentified") == "1"
    rename = report_exports.pseudonyms() if deidentified else None
    try:
        export = reports.record_disclosure(
            current_actor(),
            report,
            "csv",
            now=clock.now(),
            deidentified=deidentified,
            what=what,
            recipient=None if deidentified else _recipient(),
            route=f"staff {what} CSV export",
        )
    except consents.ConsentRequired as refused:
        return _render_report(report, 403, consent_error=refused)
    report = export.report
    name = f"{what}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return Response(
        table(report, rename),
        mimetype="text/csv",
        headers={
            **report_exports.headers_of(report, url_for(".dictionary_csv")),
            **report_exports.notice_headers(export),
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


@bp.get("/outcomes.csv")
@role_required(*reports.READERS)
def outcomes_csv():
    return _download("outcomes", report_exports.episodes_csv)


@bp.get("/tests.csv")
@role_required(*reports.READERS)
def tests_csv():
    return _download("tests", report_exports.long_csv)


@bp.get("/dictionary.csv")
@role_required(*reports.READERS)
def dictionary_csv():
    """The data dictionary as a CSV (table, column, type, definition)."""
    glossary = report_exports.dictionary()
    rows = [
        {"table": table, **field}
        for table in ("episodes", "tests")
        for field in glossary[table]
    ]
    out = report_exports.to_csv(rows, report_exports.DICTIONARY_FIELDS)
    return Response(
        out,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="dictionary.csv"'},
    )
