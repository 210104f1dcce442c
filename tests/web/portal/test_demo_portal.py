"""The demo prints how to try the portal (issue 16): the clinic's portal link, one
participant's code and a PIN that opens it; the same every time it is loaded."""

from __future__ import annotations

import re

from cm_service.services import demo
from cm_service.services.passwords import pin_problem
from tests.web.helpers import csrf_token

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
