"""Setting up TOTP by scanning: the enrolment page shows the setup link as a QR code
(inline SVG) beside the typed key, never cached and never logged."""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import parse_qs, urlsplit

import segno

from tests.support.security import password_step, secret_on
from tests.support.web import log_in

ENROL = "/staff/account/second-factor"
QR = re.compile(r'<figure[^>]*id="totp-qr"[^>]*>(.*?)</figure>', re.S)
URI = re.compile(r'<textarea[^>]*id="totp-uri"[^>]*>([^<]*)</textarea>')


def enrolment_page(client) -> str:
    response = client.get(ENROL)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


def test_the_enrolment_page_shows_the_setup_link_as_a_qr_code(client, staff, clock):
    log_in(client, "tech")

    page = enrolment_page(client)

    figure = QR.search(page).group(1)
    svg = re.search(r"<svg[^>]*>.*</svg>", figure, re.S).group(0)
    assert 'role="img"' in svg
    assert 'aria-label="QR image of the setup link"' in svg
    assert "<path" in svg
    uri = html.unescape(URI.search(page).group(1))
    assert uri.startswith("otpauth://totp/cm-service:tech%40Test%20Clinic?")
    assert parse_qs(urlsplit(uri).query)["secret"] == [secret_on(page)]
    # The SVG draws exactly the modules of that URI's QR code.
    drawn = re.search(r' d="([^"]+)"', svg).group(1)
    assert drawn == re.search(
        r' d="([^"]+)"', segno.make(uri, error="m", micro=False).svg_inline()
    ).group(1)


def test_an_admin_logging_in_the_first_time_sees_the_qr_code(client, admin, clock):
    assert password_step(client, "boss").headers["Location"].endswith(ENROL)

    page = enrolment_page(client)

    assert QR.search(page)
    assert "Scan this code with the authenticator app" in page


def test_the_qr_code_and_its_link_are_not_logged(client, staff, clock, caplog):
    caplog.set_level(logging.DEBUG)
    log_in(client, "tech")

    page = enrolment_page(client)

    secret = secret_on(page)
    assert secret not in caplog.text
    assert "otpauth" not in caplog.text
