"""Every staff page at 360 px: no sideways page scroll, nothing serious for axe.

The list of pages is the app's own: every staff GET route without parameters, plus
one participant's, event's, group's and protocol's pages; a route added later is
visited without anyone remembering to add it here.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import Page

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import (
    checkins,
    exemptions,
    funding,
    groups,
    participants,
    rewards,
)
from cm_service.services.cm.timeline import clinic_today
from tests.browser.test_staff_protocol_builder import log_in_as_admin
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import make_staff, protocol_id

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
# Not pages: files, the login steps, and the second-factor set-up (done already).
NOT_PAGES = {
    "staff.account.login",
    "staff.account.login_code",
    "staff.account.enrol",
    "staff.reports.dictionary_csv",
    "staff.reports.outcomes_csv",
    "staff.reports.tests_csv",
}
# What sticks out: the outermost elements past the right edge, as tag#id.class.
WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5
    && e.parentElement.getBoundingClientRect().right <= innerWidth + 0.5)
  .slice(0, 3)
  .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (e.className && typeof e.className === "string" ? "." + e.className : ""))"""
TARGETS = ["cocaine", "methamphetamine", "mdma", "pcp", "etg", "opiates"]


@pytest.fixture
def busy_clinic(live_app):
    """A clinic three weeks into a participant's protocol, with a long panel of
    results, an exemption, a group and a prize catalogue (dated from the real
    clock: the admin's authenticator code is)."""
    now = datetime.now(UTC)
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=now)
    boss = make_staff(clinic, "boss", role="admin")
    start = clinic_today(clinic, now) - timedelta(days=21)
    start -= timedelta(days=start.weekday())
    person = participants.register_participant(boss, clinic.id, "P-0001", now=now)
    participants.enroll(
        boss, person.id, protocol_id(clinic.id, "higgins-1994"), start, now=now,
        targets=TARGETS,
    )  # fmt: skip
    other = participants.register_participant(boss, clinic.id, "P-0002", now=now)
    participants.enroll(
        boss, other.id, protocol_id(clinic.id, "petry-ctn-2005"), start, now=now
    )
    waiting = participants.register_participant(boss, clinic.id, "P-0003", now=now)
    last = None
    for offset in (0, 2, 4, 7):
        last = checkins.record_specimen(
            boss,
            person.id,
            start + timedelta(days=offset),
            dict.fromkeys(TARGETS, "negative"),
            now=now,
            brac_milli=0,
        )
    exemptions.add_exemption(
        boss, person.id, "opiates", "Buprenorphine", start, now=now
    )
    group = groups.create_group(boss, "Tuesday CBT group", "cbt", 1, time(10), now=now)
    groups.add_member(boss, group.id, person.id, clinic_today(clinic, now), now=now)
    rewards.add_reward(
        boss, "Bus pass", tier="small", cost_cents=None, value_cents=500, stock=4,
        now=now,
    )  # fmt: skip
    # A funding program on the first participant's enrollment (docs/funding.md).
    samhsa = funding.add_preset(boss, "samhsa-2025", now=now)
    enrolled = participants.latest_enrollment(person.id)
    funding.assign(boss, enrolled.id, samhsa.id, start, None, now=now)
    ids = {
        "participant_id": person.id,
        "event_id": last.event.id,
        "group_id": group.id,
        "protocol_id": protocol_id(clinic.id, "higgins-1994"),
        "on": groups.next_meeting(group, clinic_today(clinic, now)).isoformat(),
        "unenrolled": waiting.id,
    }
    release_database()
    return ids


def staff_pages(app, ids: dict) -> list[str]:
    """Every staff page: parameter-less GET routes, and those of `ids`' records."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.rule.startswith("/staff"):
            continue
        if rule.endpoint in NOT_PAGES or rule.endpoint.endswith("export"):
            continue
        if set(rule.arguments) <= set(ids):
            urls.append(_fill(rule.rule, ids))
    # The enrol form itself (a participant not yet enrolled).
    urls.append(f"/staff/participants/{ids['unenrolled']}/enroll")
    return sorted(urls)


def _fill(rule: str, ids: dict) -> str:
    path = rule
    for name, value in ids.items():
        path = path.replace(f"<int:{name}>", str(value))
        path = path.replace(f"<{name}>", str(value))
    return path


def test_every_staff_page_fits_a_360_px_phone(
    page: Page, live_server, live_app, busy_clinic
):
    pages = staff_pages(live_app, busy_clinic)
    # Every staff page is in the list, the participant's own ones too.
    assert "/staff/ops/" in pages
    assert "/staff/participants" in pages
    assert f"/staff/participants/{busy_clinic['participant_id']}/checkin" in pages
    assert len(pages) >= 25

    page.set_viewport_size({"width": 1024, "height": 900})
    log_in_as_admin(page, live_server)
    page.set_viewport_size(PHONE)

    too_wide, violations = {}, {}
    for path in pages:
        # A file (CSV, image, download) is not a page: only HTML is laid out.
        head = page.request.get(f"{live_server}{path}")
        assert head.status == 200, path
        if not head.headers.get("content-type", "").startswith("text/html"):
            continue
        response = page.goto(f"{live_server}{path}")
        assert response is not None, path
        assert response.status == 200, path
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = (width, page.evaluate(WIDEST))
        found = serious_accessibility_violations(page)
        if found:
            violations[path] = found
        name = path.strip("/").replace("/", "-") or "staff"
        screenshot(page, f"phone-{name}")

    assert not too_wide, f"Wider than the phone: {too_wide}"
    assert not violations, f"axe-core: {violations}"
