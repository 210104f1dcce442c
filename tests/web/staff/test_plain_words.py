"""Staff pages speak plainly (issue 16): substances in words, checkboxes, today's
date, and a protocol's short name."""

from __future__ import annotations

import re
from datetime import timedelta

from cm_service.services.cm import checkins
from tests.support.factories import NOW, START, make_enrolled, protocol_id
from tests.support.pages import page_of
from tests.support.web import csrf_token

CODES = ["cocaine", "mdma", "pcp", "etg", "cannabis"]


def _labels(page: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)
    ]


def _attr(tag: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def test_the_checkin_form_names_substances_in_plain_words(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, targets=CODES)

    page = page_of(logged_in.get(f"/staff/participants/{person.id}/checkin"))

    labels = _labels(page)
    for words in ("Cocaine", "MDMA/ecstasy", "PCP", "Alcohol (EtG)", "Cannabis (THC)"):
        assert words in labels
    assert "Breath alcohol, BrAC (optional)" in labels
    for jargon in ("Mdma", "Pcp", "Etg", ">Etg", "analyte"):
        assert jargon not in page
    assert "cannabis (THC), cocaine, alcohol (EtG), MDMA/ecstasy, PCP" in page


def test_a_missing_result_is_asked_for_in_plain_words(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, targets=["mdma"])
    url = f"/staff/participants/{person.id}/checkin"
    token = csrf_token(logged_in, url)

    response = logged_in.post(
        f"{url}/specimen", data={"csrf_token": token, "s-collected_on": "2026-02-02"}
    )

    assert response.status_code == 422
    assert "Choose the MDMA/ecstasy result." in page_of(response)


def test_the_record_lists_results_in_plain_words(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, targets=["mdma", "etg"])
    checkins.record_specimen(
        staff,
        person.id,
        START,
        {"mdma": "negative", "etg": "positive"},
        now=NOW,
        brac_milli=0,
    )

    page = page_of(logged_in.get(f"/staff/participants/{person.id}"))

    assert "MDMA/ecstasy negative, alcohol (EtG) positive" in page
    assert "breath alcohol, BrAC 0.000" in page


def test_the_exemption_form_asks_for_a_substance(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic)

    page = page_of(logged_in.get(f"/staff/participants/{person.id}"))

    assert "Exempt substance" in _labels(page)
    assert re.search(r'id="x-starts_on"[^>]*value="2026-02-02"', page)
    assert '<option value="mdma">MDMA/ecstasy</option>' in page


def test_the_enrol_form_offers_checkboxes_in_plain_words(logged_in, clinic):
    from cm_service.services.cm import participants
    from tests.support.factories import make_staff

    person = participants.register_participant(
        make_staff(clinic, "desk"), clinic.id, "P-0042", now=NOW
    )

    page = page_of(logged_in.get(f"/staff/participants/{person.id}/enroll"))

    assert "multiple" not in page
    boxes = {
        (_attr(tag, "name"), _attr(tag, "value"))
        for tag in re.findall(r"<input[^>]*>", page)
        if _attr(tag, "type") == "checkbox"
    }
    assert ("testing_days", "0") in boxes
    assert ("targets", "mdma") in boxes
    assert "<legend>Testing days" in page
    assert "<legend>Target substances" in page
    assert "MDMA/ecstasy" in page
    assert "Mon" in page


def test_the_enrol_form_starts_on_the_clinics_today(logged_in, clinic):
    from cm_service.services.cm import participants
    from tests.support.factories import make_staff

    person = participants.register_participant(
        make_staff(clinic, "desk"), clinic.id, "P-0042", now=NOW
    )

    page = page_of(logged_in.get(f"/staff/participants/{person.id}/enroll"))

    assert re.search(r'id="start_on"[^>]*value="2026-02-02"', page)


def test_protocols_are_named_by_their_short_name(logged_in, staff, clinic):
    make_enrolled(staff, clinic)

    listing = page_of(logged_in.get("/staff/participants"))
    board = page_of(logged_in.get("/staff/today"))

    assert "Escalating vouchers, cocaine" in listing
    assert "Arch Gen Psychiatry" not in listing
    assert "Voucher-based reinforcement (Higgins et al. 1994)" not in listing
    assert "Escalating vouchers, cocaine" in board


def test_the_enrol_select_names_protocols_by_their_short_name(logged_in, clinic):
    from cm_service.services.cm import participants
    from tests.support.factories import make_staff

    person = participants.register_participant(
        make_staff(clinic, "desk"), clinic.id, "P-0042", now=NOW
    )

    page = page_of(logged_in.get(f"/staff/participants/{person.id}/enroll"))

    higgins = protocol_id(clinic.id, "higgins-1994")
    option = f'<option value="{higgins}">Escalating vouchers, cocaine (v1)</option>'
    assert option in page


def test_the_protocol_page_keeps_the_citation(logged_in, clinic):
    higgins = protocol_id(clinic.id, "higgins-1994")

    page = page_of(logged_in.get(f"/staff/protocols/{higgins}"))

    assert "Escalating vouchers, cocaine" in page
    assert "Voucher-based reinforcement (Higgins et al. 1994)" in page
    assert "Arch Gen Psychiatry 1994" in page


def test_the_record_and_the_checkin_answer_speak_plainly(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, targets=["mdma", "etg"])
    done = checkins.record_specimen(
        staff,
        person.id,
        START,
        {"mdma": "negative", "etg": "negative"},
        now=NOW,
        brac_milli=0,
    )

    record = page_of(logged_in.get(f"/staff/participants/{person.id}"))
    answer = page_of(logged_in.get(f"/staff/checkins/{done.event.id}"))

    assert "Enrolled on <strong>Escalating vouchers, cocaine</strong>" in record
    assert "Voucher-based reinforcement (Higgins et al. 1994)" not in record
    assert "the analyte" not in record
    recorded = re.sub(r"\s+", " ", answer[answer.index('id="recorded"') :])
    assert "MDMA/ecstasy negative, alcohol (EtG) negative" in recorded
    assert "breath alcohol, BrAC 0.000" in recorded


def test_an_extra_test_says_why_it_earned_nothing(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    tuesday = START + timedelta(days=1)  # Higgins tests Mon, Wed and Fri
    done = checkins.record_specimen(
        staff, person.id, tuesday, {"cocaine": "negative"}, now=NOW
    )

    answer = page_of(logged_in.get(f"/staff/checkins/{done.event.id}"))

    earned = re.sub(r"\s+", " ", answer[answer.index('id="earned"') :])
    assert earned.startswith(
        'id="earned"> Nothing this time: Tue 06 Jan is not a scheduled test day'
    )
