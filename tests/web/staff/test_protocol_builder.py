"""The protocol builder pages: an admin builds, previews and saves a version; bad
input is refused next to its field with nothing written; other roles only read."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from cm_service import rules
from cm_service.extensions import db
from cm_service.models import AuditLog, Protocol
from cm_service.services.admin import protocol_builder as builder
from tests.support.factories import make_staff, protocol_id
from tests.support.pages import count, page_of
from tests.support.web import csrf_token, log_in

BUILD = "/staff/protocols/build"


@pytest.fixture
def admin_client(client, clinic):
    make_staff(clinic, "boss", role="admin")
    log_in(client, "boss")
    return client


def group_protocol(**changes) -> dict:
    """The builder's fields for an attendance-only protocol paying group sessions."""
    fields = builder.apply_action(builder.blank_fields(), "add_attendance", "0")
    attendance = fields["phases"][0]["attendance"][0]
    attendance.update(start="1", step="1", max="5", session_types=["group"])
    attendance.update(days=["tue", "thu"])
    return {**fields, "key": "groups", "name": "Group draws", "targets": ["cocaine"]}


def post(client, fields, **action):
    data = MultiDict(builder.flatten(fields))
    data["csrf_token"] = csrf_token(client, BUILD)
    for name, value in (action or {"preview": "1"}).items():
        data[name] = value
    return client.post(BUILD, data=data)


def versions_of(clinic, key: str) -> list[Protocol]:
    query = select(Protocol).where(Protocol.clinic_id == clinic.id, Protocol.key == key)
    return list(db.session.scalars(query.order_by(Protocol.version)))


def written() -> tuple[int, int]:
    return count(Protocol), count(AuditLog)


def error_of(page: str, name: str) -> str:
    """The message shown next to field `name` (and the field points to it)."""
    match = re.search(rf'<p class="error" id="{name}-error">([^<]*)</p>', page)
    assert match, f"no message next to {name}"
    assert f'aria-describedby="{name}-error"' in page or re.search(
        rf'aria-describedby="[^"]*{name}-error"', page
    )
    return match.group(1)


def test_the_builder_starts_blank_or_from_a_preset_or_a_version(admin_client, clinic):
    blank = page_of(admin_client.get(BUILD))
    preset = page_of(admin_client.get(f"{BUILD}?preset=higgins-1994"))
    pid = protocol_id(clinic.id, "ca-recovery-incentives")
    version = page_of(admin_client.get(f"{BUILD}?from={pid}"))
    chosen = page_of(admin_client.get(f"{BUILD}?start=preset:va-prize-2014"))

    assert 'id="key" name="key" value=""' in blank
    assert 'id="key" name="key" value="higgins-1994"' in preset
    assert 'id="phases-0-specimen-bonus_every" name' in preset
    assert (
        'id="caps-per_calendar_year" name="caps-per_calendar_year" value="599.00"'
        in (version)
    )
    assert 'name="phases-1-weeks_from" value="13"' in version
    assert 'id="key" name="key" value="va-prize-2014"' in chosen


@pytest.mark.parametrize(
    "query", ["preset=nope", "from=999999", "from=abc", "start=version:999999"]
)
def test_starting_from_something_that_is_not_there_is_404(admin_client, query):
    assert admin_client.get(f"{BUILD}?{query}").status_code == 404


def test_a_version_the_parser_now_refuses_starts_a_blank_form(admin_client, clinic):
    # A version stored under an older, laxer parser (versions are immutable, so
    # it is inserted as it was kept, not edited into shape).
    higgins = db.session.get(Protocol, protocol_id(clinic.id, "higgins-1994"))
    stored = Protocol(
        clinic_id=clinic.id,
        key="legacy",
        version=1,
        name="Legacy vouchers",
        spec={**higgins.spec, "key": "legacy", "unit_cents": 0},
    )
    db.session.add(stored)
    db.session.commit()

    response = admin_client.get(f"{BUILD}?from={stored.id}")

    assert response.status_code == 200
    page = page_of(response)
    assert "That version cannot be edited here: unit_cents: must be" in page
    assert 'id="key" name="key" value=""' in page


def test_another_clinics_version_is_not_a_starting_point(admin_client, other_clinic):
    theirs = protocol_id(other_clinic.id, "higgins-1994")

    assert admin_client.get(f"{BUILD}?from={theirs}").status_code == 404


def test_a_preview_shows_the_costs_and_writes_nothing(admin_client):
    before = written()

    response = post(admin_client, group_protocol(), preview="1")

    assert response.status_code == 200
    page = page_of(response)
    spec = builder.build(group_protocol()).spec
    best = builder.preview(spec)
    assert f'id="best-cost">{builder.dollars(best.best_cost_cents)}' in page.replace(
        "$", ""
    )
    assert 'id="cohort-mean">$' in page
    assert "A cohort of 200" in page
    assert "Every session attended" in page
    assert written() == before


def test_a_protocol_with_no_days_to_simulate_previews_a_notice(admin_client):
    fields = group_protocol()
    fields["phases"][0]["attendance"][0]["days"] = []

    response = post(admin_client, fields, preview="1")

    assert response.status_code == 200
    assert builder.NOTHING_TO_SIMULATE in page_of(response)


def test_saving_adds_the_next_version_and_shows_its_totals(admin_client, clinic):
    before = written()

    response = post(admin_client, group_protocol(), save="1")

    assert response.status_code == 302
    assert written() == (before[0] + 1, before[1] + 1)
    (stored,) = versions_of(clinic, "groups")
    assert rules.validate_spec(stored.spec) == builder.build(group_protocol()).spec
    assert response.headers["Location"].endswith(f"/staff/protocols/{stored.id}")
    assert "Group draws" in page_of(admin_client.get(response.headers["Location"]))


def test_a_short_name_is_saved_and_names_the_protocol(admin_client, clinic):
    fields = {**group_protocol(), "name": "Group draws (Ledgerwood et al. 2008)"}

    response = post(admin_client, {**fields, "label": "Group draws"}, save="1")

    assert response.status_code == 302
    (stored,) = versions_of(clinic, "groups")
    assert stored.spec["label"] == "Group draws"
    listing = page_of(admin_client.get("/staff/protocols"))
    assert '<th scope="row">Group draws<span class="detail">' in listing
    assert 'value="Group draws"' in page_of(
        admin_client.get(f"{BUILD}?from={stored.id}")
    )


def test_an_admin_saves_attendance_by_appointment(admin_client, clinic):
    fields = group_protocol()
    fields["phases"][0]["attendance"][0].update(
        scheduled=True, on_time_minutes="10", reset_on=["missed", "late"]
    )

    response = post(admin_client, fields, save="1")

    assert response.status_code == 302
    (stored,) = versions_of(clinic, "groups")
    attendance = stored.spec["phases"][0]["attendance"]
    assert (attendance["scheduled"], attendance["on_time_minutes"]) == (True, 10)
    assert attendance["reset_on"] == ["missed", "late"]


def test_saving_a_preset_unedited_makes_its_second_version(admin_client, clinic):
    fields, _ = builder.fields_from_document(rules.load_preset("higgins-1994"))

    response = post(admin_client, fields, save="1")

    assert response.status_code == 302
    first, second = versions_of(clinic, "higgins-1994")
    assert rules.validate_spec(second.spec) == rules.validate_spec(first.spec)
    assert second.version == 2


def _overlapping() -> dict:
    fields = builder.apply_action(group_protocol(), "add_phase", "")
    fields["phases"][1]["weeks_from"] = "10"
    return fields


def _bad_prize() -> dict:
    fields = group_protocol()
    fields["bowl"][2]["value"] = "12.345"
    return fields


def _no_sessions() -> dict:
    fields = group_protocol()
    fields["phases"][0]["attendance"][0]["session_types"] = []
    return fields


def _resets_unbooked() -> dict:
    fields = group_protocol()
    fields["phases"][0]["attendance"][0]["reset_on"] = ["missed"]
    return fields


@pytest.mark.parametrize("action", ["save", "preview"])
@pytest.mark.parametrize(
    ("fields", "name", "message"),
    [
        ({**group_protocol(), "unit": "12.345"}, "unit", builder.CENTS_MESSAGE),
        (_bad_prize(), "bowl-2-value", builder.CENTS_MESSAGE),
        (_overlapping(), "phases-1-weeks", "Overlaps phase 1 (weeks 1-12)"),
        (_no_sessions(), "phases-0-attendance-0-session_types", "Tick at least one."),
        ({**group_protocol(), "key": "Bad Key"}, "key", "Must be a slug"),
        ({**group_protocol(), "label": "x" * 61}, "label", "Use at most 60 characters"),
        (_resets_unbooked(), "phases-0-attendance-0-reset_on", "Must be unticked"),
    ],
)
def test_bad_input_is_refused_next_to_its_field(
    admin_client, fields, name, message, action
):
    before = written()

    response = post(admin_client, fields, **{action: "1"})

    assert response.status_code == 422
    page = page_of(response)
    assert error_of(page, name).startswith(message)
    assert f'<a href="#{name}">' in page  # the summary links to the field
    assert 'id="preview-result"' not in page
    assert written() == before


def test_a_bad_field_keeps_what_was_typed(admin_client):
    response = post(admin_client, {**group_protocol(), "unit": "12.345"}, save="1")

    assert 'id="unit" name="unit" value="12.345"' in page_of(response)


@pytest.mark.parametrize(
    ("action", "value", "expect"),
    [
        ("add_phase", "1", 'name="phases-1-weeks_from" value="13"'),
        ("add_attendance", "0", 'name="phases-0-attendance-1-type"'),
        ("add_tier", "1", 'name="bowl-4-tier"'),
    ],
)
def test_adding_a_row_shows_the_form_again_with_it(admin_client, action, value, expect):
    before = written()

    response = post(admin_client, group_protocol(), **{action: value})

    assert response.status_code == 200
    page = page_of(response)
    assert expect in page
    assert 'class="error"' not in page
    assert written() == before


def test_removing_a_row_keeps_the_others(admin_client):
    fields = builder.apply_action(group_protocol(), "add_phase", "")
    fields["phases"][1]["weeks_to"] = "30"

    page = page_of(post(admin_client, fields, remove_phase="0"))

    assert 'name="phases-0-weeks_to" value="30"' in page
    assert 'name="phases-1-weeks_from"' not in page


def test_an_admin_sees_the_builder_and_the_row_actions(admin_client, clinic):
    pid = protocol_id(clinic.id, "higgins-1994")

    page = page_of(admin_client.get("/staff/protocols"))

    assert f'href="{BUILD}"' in page
    assert f'href="{BUILD}?from={pid}"' in page
    assert f'href="/staff/protocols/{pid}/export"' in page


def test_a_version_exports_as_a_json_download(admin_client, clinic):
    pid = protocol_id(clinic.id, "va-prize-2014")

    response = admin_client.get(f"/staff/protocols/{pid}/export")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert 'filename="va-prize-2014-v1.json"' in response.headers["Content-Disposition"]
    assert json.loads(response.get_data()) == rules.load_preset("va-prize-2014")


def test_another_clinics_export_is_404(admin_client, other_clinic):
    theirs = protocol_id(other_clinic.id, "higgins-1994")

    assert admin_client.get(f"/staff/protocols/{theirs}/export").status_code == 404


def test_staff_read_protocols_but_cannot_build_or_add(logged_in, clinic):
    pid = protocol_id(clinic.id, "higgins-1994")
    token = csrf_token(logged_in, "/staff/protocols")
    before = written()

    listing = logged_in.get("/staff/protocols")
    build = logged_in.get(BUILD)
    save = logged_in.post(
        BUILD, data={"csrf_token": token, "save": "1", "key": "x", "name": "x"}
    )
    paste = logged_in.post(
        "/staff/protocols",
        data={
            "csrf_token": token,
            "spec": json.dumps(rules.load_preset("va-prize-2014")),
        },
    )

    assert listing.status_code == 200
    assert "Build a new version" not in page_of(listing)
    assert 'name="spec"' not in page_of(listing)
    assert logged_in.get(f"/staff/protocols/{pid}").status_code == 200
    assert logged_in.get(f"/staff/protocols/{pid}/export").status_code == 200
    assert (build.status_code, save.status_code, paste.status_code) == (403, 403, 403)
    assert written() == before


def test_an_auditor_reads_protocols(client, clinic):
    make_staff(clinic, "reader", role="auditor")
    log_in(client, "reader")

    assert client.get("/staff/protocols").status_code == 200
    assert client.get(BUILD).status_code == 403


def test_the_start_select_names_presets_and_versions_by_their_short_names(
    admin_client, clinic
):
    page = page_of(admin_client.get(BUILD))

    higgins = versions_of(clinic, "higgins-1994")[0]
    assert (
        '<option value="preset:higgins-1994">Escalating vouchers, cocaine: '
        "Voucher-based reinforcement (Higgins et al. 1994)</option>"
    ) in page
    assert (
        f'<option value="version:{higgins.id}">Escalating vouchers, cocaine '
        "(higgins-1994 v1)</option>"
    ) in page
