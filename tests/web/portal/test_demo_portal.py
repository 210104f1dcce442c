"""The demo prints how to try the portal (issue 16): the clinic's portal link, one
participant's code and a PIN that opens it; the same every time it is loaded."""

from __future__ import annotations

import re

from cm_service.services.access.passwords import pin_problem
from cm_service.services.admin import demo
from tests.support.web import csrf_token

PORTAL_LINE = re.compile(r"Portal: (/me/[a-z0-9-]+/login) +code (P-\d{4}) +PIN (\d+)")


def test_the_demo_prints_a_portal_login_that_works(app, runner, tmp_path):
    app.instance_path = str(tmp_path)
    result = runner.invoke(args=["cm", "demo", "--participants", "2"])
    assert result.exit_code == 0, result.output
    found = PORTAL_LINE.search(result.output)
    assert found, result.output
    path, code, pin = found.groups()

    client = app.test_client()
    token = csrf_token(client, path)
    response = client.post(path, data={"code": code, "pin": pin, "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/me/").status_code == 200
    again = runner.invoke(args=["cm", "demo", "--participants", "2"])
    assert found.group(0) in again.output


def test_demo_pins_are_reproducible_and_pass_the_pin_rules():
    pins = [demo.demo_pin(7, n) for n in range(1, 13)]
    assert pins == [demo.demo_pin(7, n) for n in range(1, 13)]
    assert all(pin_problem(pin) is None for pin in pins)
    assert len(set(pins)) == len(pins)


def test_the_demo_shows_spanish_draws_waiting_and_an_exemption(app, runner, tmp_path):
    from cm_service.extensions import db
    from cm_service.models import Exemption, Participant
    from cm_service.services.cm import ledger

    app.instance_path = str(tmp_path)
    result = runner.invoke(args=["cm", "demo", "--participants", "6"])
    assert result.exit_code == 0, result.output
    printed = {code: pin for _, code, pin in PORTAL_LINE.findall(result.output)}
    people = {p.code: p for p in db.session.query(Participant)}

    # Several portal logins are printed, one of them for a Spanish reader ...
    assert len(printed) >= 3
    assert "es" in {people[code].language for code in printed}
    assert "(Español" in result.output
    # ... and one with prize draws waiting to be drawn at the desk
    assert any(ledger.balance_of(people[code].id).draws > 0 for code in printed)
    # Someone takes a prescribed medicine the panel would otherwise count.
    exemption = db.session.query(Exemption).one()
    assert exemption.analyte == "amphetamine"


def test_the_demos_spanish_reader_sees_who_their_records_went_to(app, runner, tmp_path):
    from cm_service.extensions import db
    from cm_service.models import Disclosure, Participant

    app.instance_path = str(tmp_path)
    assert runner.invoke(args=["cm", "demo", "--participants", "3"]).exit_code == 0

    shared = db.session.query(Disclosure).one()
    reader = db.session.get(Participant, shared.participant_id)
    assert reader.language == "es"
    assert shared.recipient == "County behavioral health EHR"


def test_the_demos_voucher_participants_are_funded_by_a_samhsa_grant(
    app, runner, tmp_path
):
    from cm_service.extensions import db
    from cm_service.models import Enrollment, EnrollmentFunding, FundingProgram

    app.instance_path = str(tmp_path)
    assert runner.invoke(args=["cm", "demo", "--participants", "6"]).exit_code == 0

    program = db.session.query(FundingProgram).one()
    assert (program.per_year_cents, program.non_cash_only) == (75000, True)
    funded = db.session.query(EnrollmentFunding).all()
    keys = {db.session.get(Enrollment, f.enrollment_id).protocol.key for f in funded}
    assert keys == {"higgins-1994"}
