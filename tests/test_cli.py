from __future__ import annotations

import json

import pytest

from cm_service.extensions import db
from cm_service.models import Clinic, Participant, User
from cm_service.rules import load_preset


def test_init_is_idempotent(runner):
    first = runner.invoke(args=["cm", "init"])
    second = runner.invoke(args=["cm", "init"])

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert "up to date" in second.output


def test_clinic_create_prints_the_id_alone_on_the_last_line(runner):
    result = runner.invoke(
        args=[
            "cm",
            "clinic",
            "create",
            "--name",
            "Eastside",
            "--timezone",
            "America/New_York",
        ]
    )

    assert result.exit_code == 0, result.output
    clinic_id = int(result.output.strip().splitlines()[-1])
    clinic = db.session.get(Clinic, clinic_id)
    assert clinic.name == "Eastside"
    assert f"/me/{clinic.portal_slug}/login" in result.output


def test_clinic_create_rejects_a_bad_time_zone_with_exit_2(runner):
    result = runner.invoke(
        args=["cm", "clinic", "create", "--name", "X", "--timezone", "Mars/Base"]
    )

    assert result.exit_code == 2
    assert "timezone" in result.output
    assert db.session.query(Clinic).count() == 0


def test_staff_create_reads_the_password_from_stdin(runner, clinic):
    result = runner.invoke(
        args=[
            "cm",
            "staff",
            "create",
            "--clinic",
            str(clinic.id),
            "--username",
            "ana",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )

    assert result.exit_code == 0, result.output
    assert "Password" not in result.output
    assert db.session.query(User).filter_by(username="ana").one().role == "admin"


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--role", "admin"], "short\n", "password"),
        (["--role", "admin"], "1qaz2wsx3edc\n", "common"),
        (["--role", "admin"], "my test clinic password\n", "clinic's name"),
        (["--role", "boss"], "a long enough password\n", "role"),
    ],
)
def test_staff_create_bad_input_exits_2(runner, clinic, args, password, message):
    result = runner.invoke(
        args=[
            "cm",
            "staff",
            "create",
            "--clinic",
            str(clinic.id),
            "--username",
            "ana",
            "--password-stdin",
            *args,
        ],
        input=password,
    )

    assert result.exit_code == 2
    assert message in result.output
    assert db.session.query(User).count() == 0


def test_demo_loads_once(runner, app, tmp_path):
    app.instance_path = str(tmp_path)
    first = runner.invoke(args=["cm", "demo", "--participants", "3"])
    second = runner.invoke(args=["cm", "demo", "--participants", "3"])

    assert first.exit_code == 0, first.output
    assert "admin" in first.output
    assert "staff" in first.output
    assert "already loaded" in second.output
    assert db.session.query(Participant).count() == 3


def test_protocol_list_names_every_preset_with_its_source(runner):
    result = runner.invoke(args=["cm", "protocol", "list"])

    assert result.exit_code == 0
    for key in (
        "higgins-1994",
        "va-prize-2014",
        "petry-ctn-2005",
        "ca-recovery-incentives",
        "attendance-prize",
    ):
        assert key in result.output
    assert "source:" in result.output


def test_simulate_higgins_36_negatives_costs_997_50(runner):
    result = runner.invoke(
        args=[
            "cm",
            "simulate",
            "higgins-1994",
            "--outcomes",
            " ".join(["N"] * 36),
            "--json",
        ]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["total_cents"] == 99750
    assert report["total_points"] == 3990
    assert len(report["tests"]) == 36
    assert report["tests"][2]["bonus_points"] == 40


def test_simulate_table_reads_as_a_budget(runner):
    result = runner.invoke(
        args=["cm", "simulate", "higgins-1994", "--outcomes", "N N N P N"]
    )

    assert result.exit_code == 0, result.output
    assert "$" in result.output


def test_simulate_cohort_reports_the_cost_distribution(runner):
    result = runner.invoke(
        args=[
            "cm",
            "simulate",
            "va-prize-2014",
            "--cohort",
            "200",
            "--p-negative",
            "0.6",
            "--seed",
            "3",
            "--json",
        ]
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["mean_cents"] > 0


def test_simulate_cohort_runs_from_the_start_date(runner, tmp_path):
    # California's schedule with only its per-calendar-year cap: a cohort spanning
    # 1 January is paid under two years' caps.
    spec = load_preset("ca-recovery-incentives")
    spec["caps"]["per_enrollment_cents"] = None
    path = tmp_path / "ca-year-cap.json"
    path.write_text(json.dumps(spec))

    def cohort(*start: str) -> dict:
        result = runner.invoke(
            args=[
                "cm",
                "simulate",
                str(path),
                "--cohort",
                "4",
                "--p-negative",
                "1",
                *start,
                "--json",
            ]
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    default, inside = cohort(), cohort("--start", "2026-01-05")
    across = cohort("--start", "2026-11-02")

    assert (default["start"], inside["start"], across["start"]) == (
        "2026-01-05",
        "2026-01-05",
        "2026-11-02",
    )
    assert default["max_cents"] == inside["max_cents"] == 59900
    assert across["max_cents"] == across["theoretical_maximum_cents"] > 59900
    table = runner.invoke(
        args=["cm", "simulate", str(path), "--cohort", "2", "--start", "2026-11-02"]
    )
    assert "from Mon 2026-11-02" in table.output


def test_simulate_rejects_a_bad_spec_naming_the_field(runner, tmp_path):
    spec = {
        "spec": 1,
        "key": "bad",
        "name": "Bad",
        "source": "none",
        "unit_cents": 25,
        "targets": {"substances": ["cocaine"], "combine": "all"},
        "results": {},
        "corrections": "no_clawback",
        "phases": [
            {
                "weeks": [1, 12],
                "testing_days": ["mon"],
                "specimen": {
                    "type": "escalating",
                    "start": 10,
                    "step": -5,
                    "max": None,
                    "per": "test",
                    "reset_on": ["positive"],
                    "recovery_after": None,
                },
                "attendance": None,
            }
        ],
        "caps": {},
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))

    result = runner.invoke(args=["cm", "simulate", str(path), "--outcomes", "N"])

    assert result.exit_code == 2
    assert "phases[0].specimen.step" in result.output


def test_simulate_rejects_more_outcomes_than_scheduled_tests(runner):
    result = runner.invoke(
        args=["cm", "simulate", "higgins-1994", "--outcomes", " ".join(["N"] * 37)]
    )

    assert result.exit_code == 2
    assert "outcomes" in result.output


def test_nightly_for_a_date_prints_its_counts(runner, staff, clinic):
    from tests.support.factories import make_enrolled

    make_enrolled(staff, clinic)
    result = runner.invoke(args=["cm", "nightly", "--date", "2026-01-05"])

    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    assert "missed 1" in result.output


def test_nightly_refuses_a_day_that_has_not_ended(runner, clinic):
    result = runner.invoke(args=["cm", "nightly", "--date", "2999-01-01"])

    assert result.exit_code == 2
    assert "date" in result.output


def test_nightly_catch_up_prints_a_summary(runner, staff, clinic):
    from tests.support.factories import make_enrolled

    make_enrolled(staff, clinic)
    result = runner.invoke(args=["cm", "nightly", "--catch-up"])

    assert result.exit_code == 0, result.output
    assert "date(s) processed, 7 reconciliation slice(s) run" in result.output
    assert "(0 enrollment(s) needed a correction), 0 failed" in result.output


def test_reconcile_reports_nothing_to_post_on_a_settled_ledger(runner, staff, clinic):
    from tests.support.factories import make_enrolled

    make_enrolled(staff, clinic)
    result = runner.invoke(args=["cm", "reconcile"])

    assert result.exit_code == 0, result.output
    assert "1 enrollments checked; 0 differences posted" in result.output
