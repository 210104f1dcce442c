"""The tax-threshold report (services/reads/tax_report.py): per payer and calendar year,
participants approaching or over the information-return threshold, as a page and
CSV. These routes join the reports blueprint (`web.init_app` imports this module).
"""

from __future__ import annotations

from flask import Response, current_app, render_template, request

from ... import clock
from ...auth import current_actor, role_required
from ...services.cm.timeline import clinic_today
from ...services.errors import InvalidInput
from ...services.reads import tax_report
from .views import bp


def _report() -> tax_report.TaxReport:
    actor = current_actor()
    text = request.args.get("year", "").strip()
    if not text:
        year = clinic_today(actor_clinic(), clock.now()).year
    elif text.isdigit() and len(text) == 4:
        year = int(text)
    else:
        raise InvalidInput("year", "Enter a year as four digits, e.g. 2026.")
    return tax_report.tax_report(
        actor,
        year,
        now=clock.now(),
        thresholds=current_app.config.get("TAX_THRESHOLDS_CENTS"),
        approaching_percent=current_app.config.get(
            "TAX_APPROACHING_PERCENT", tax_report.APPROACHING_PERCENT
        ),
    )


def actor_clinic():
    from flask_login import current_user

    return current_user.clinic


@bp.get("/tax")
@role_required(*tax_report.READERS)
def tax_threshold():
    try:
        report = _report()
    except InvalidInput as error:
        page = render_template(
            "staff/reports/tax.html", report=None, error=error, args=request.args
        )
        return page, 422
    return render_template(
        "staff/reports/tax.html",
        report=report,
        error=None,
        args=request.args,
        words=tax_report.describe(report),
    )


@bp.get("/tax.csv")
@role_required(*tax_report.READERS)
def tax_threshold_csv():
    try:
        report = _report()
    except InvalidInput as error:
        return Response(error.message + "\n", status=422, mimetype="text/plain")
    return Response(
        tax_report.to_csv(report),
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="tax-threshold-{report.year}.csv"'
            )
        },
    )
