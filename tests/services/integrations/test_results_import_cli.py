"""`flask cm import-results FILE --clinic ID`: all or nothing, one line per error."""

from __future__ import annotations

from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import Event, LedgerEntry
from cm_service.services.cm import checkins, ledger
from tests.support.factories import NOW, START, make_enrolled

HEADER = "participant_code,collected_on,analyte,result,value\n"


def events() -> int:
    return db.session.scalar(select(func.count()).select_from(Event))


def run(runner, tmp_path, clinic, text: str):
    path = tmp_path / "results.csv"
    path.write_text(text)
    return runner.invoke(
        args=["cm", "import-results", str(path), "--clinic", str(clinic.id)]
    )


def test_a_file_is_recorded_and_paid_as_a_check_in_would_be(
    runner, tmp_path, staff, clinic
):
    imported, _ = make_enrolled(staff, clinic, code="P-0001")
    by_hand, _ = make_enrolled(staff, clinic, code="P-0002")
    for day in (START, START.replace(day=7), START.replace(day=9)):
        checkins.record_specimen(
            staff, by_hand.id, day, {"cocaine": "negative"}, now=NOW
        )

    result = run(
        runner,
        tmp_path,
        clinic,
        HEADER
        + "P-0001,2026-01-05,cocaine,negative,\n"
        + "P-0001,2026-01-07,cocaine,negative,\n"
        + "P-0001,2026-01-09,cocaine,negative,120 ng/mL\n",
    )

    assert result.exit_code == 0, result.output
    assert "Recorded 3 result(s); 0 already recorded" in result.output
    assert ledger.balance_of(imported.id) == ledger.balance_of(by_hand.id)
    assert ledger.balance_of(imported.id).points > 0


def test_running_it_again_records_nothing_twice(runner, tmp_path, staff, clinic):
    make_enrolled(staff, clinic)
    text = HEADER + "P-0001,2026-01-05,cocaine,negative,\n"
    run(runner, tmp_path, clinic, text)
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))

    result = run(runner, tmp_path, clinic, text)

    assert result.exit_code == 0
    assert "Recorded 0 result(s); 1 already recorded" in result.output
    assert events() == 1
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries


def test_bad_lines_exit_2_with_one_line_per_error_and_record_nothing(
    runner, tmp_path, staff, clinic
):
    make_enrolled(staff, clinic)

    result = run(
        runner,
        tmp_path,
        clinic,
        HEADER
        + "P-0001,2026-01-05,cocaine,negative,\n"
        + "P-0001,2026-01-05,cocaine,negative,\n"
        + "P-0001,yesterday,cocaine,negative,\n"
        + "P-0404,2026-01-06,cocaine,negative,\n",
    )

    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        "line 4: collected_on: Enter a date as YYYY-MM-DD.",
        "line 5: participant_code: No participant P-0404 in this clinic.",
        "Nothing was recorded.",
    ]
    assert events() == 0


def test_a_duplicate_line_is_reported_once_the_others_are_valid(
    runner, tmp_path, staff, clinic
):
    make_enrolled(staff, clinic)

    result = run(
        runner,
        tmp_path,
        clinic,
        HEADER + "P-0001,2026-01-05,cocaine,negative,\n" * 2,
    )

    assert result.exit_code == 2
    assert result.output.splitlines()[0] == "line 3: Repeats line 2."
    assert events() == 0


def test_an_empty_file_exits_2(runner, tmp_path, staff, clinic):
    result = run(runner, tmp_path, clinic, "")

    assert result.exit_code == 2
    assert result.output.startswith("line 1: Start with the header line")


def test_an_unknown_clinic_exits_2(runner, tmp_path, clinic):
    path = tmp_path / "results.csv"
    path.write_text(HEADER)

    result = runner.invoke(args=["cm", "import-results", str(path), "--clinic", "4242"])

    assert result.exit_code == 2
    assert "clinic: No such clinic." in result.output
