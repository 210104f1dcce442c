from __future__ import annotations

import json

import pytest

from cm_service import rules
from cm_service.models import Protocol
from tests.support.factories import make_staff, protocol_id
from tests.support.pages import count, page_of
from tests.support.web import csrf_token, log_in


@pytest.fixture
def admin_client(client, clinic):
    make_staff(clinic, "boss", role="admin")
    log_in(client, "boss")
    return client


def _spec(**changes) -> str:
    spec = {**rules.load_preset("higgins-1994"), "key": "our-higgins", **changes}
    return json.dumps(spec)


def test_an_admin_adds_a_version_and_sees_its_all_negative_totals(admin_client):
    token = csrf_token(admin_client, "/staff/protocols")

    response = admin_client.post(
        "/staff/protocols", data={"csrf_token": token, "spec": _spec()}
    )

    assert response.status_code == 302
    page = page_of(admin_client.get(response.headers["Location"]))
    expected = rules.theoretical_maximum(
        rules.validate_spec(json.loads(_spec()))
    ).evaluation
    assert f'id="max-points">{expected.total_points}<' in page
    assert "our-higgins" in page_of(admin_client.get("/staff/protocols"))


def test_a_preset_preview_shows_its_maximum(admin_client, clinic):
    pid = protocol_id(clinic.id, "higgins-1994")

    page = page_of(admin_client.get(f"/staff/protocols/{pid}"))

    assert "Maximum money" in page
    assert 'id="preview"' in page


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "Paste the protocol spec as JSON."),
        ("{not json", "Not valid JSON: "),
        (_spec(unit_cents=-5), "spec.unit_cents: "),
        (_spec(phases=[]), "spec.phases"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field(admin_client, spec, message):
    token = csrf_token(admin_client, "/staff/protocols")
    before = count(Protocol)

    response = admin_client.post(
        "/staff/protocols", data={"csrf_token": token, "spec": spec}
    )

    assert response.status_code == 422
    page = page_of(response)
    assert '<p class="error" id="spec-error">' + message in page
    assert count(Protocol) == before


def test_staff_read_protocols_but_only_admins_add_them(logged_in, clinic):
    token = csrf_token(logged_in, "/staff/protocols")

    response = logged_in.post(
        "/staff/protocols", data={"csrf_token": token, "spec": _spec()}
    )

    assert logged_in.get("/staff/protocols").status_code == 200
    assert response.status_code == 403


def test_another_clinics_protocol_is_404(admin_client, other_clinic):
    theirs = protocol_id(other_clinic.id, "higgins-1994")

    assert admin_client.get(f"/staff/protocols/{theirs}").status_code == 404
