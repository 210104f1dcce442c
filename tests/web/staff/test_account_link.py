from __future__ import annotations

import re

from tests.support.pages import page_of

ACCOUNT_LINK = re.compile(r'<a href="([^"]+)"( aria-current="page")?>My account</a>')


def test_the_header_links_to_my_account_next_to_log_out(logged_in):
    page = page_of(logged_in.get("/staff/rewards"))

    link = ACCOUNT_LINK.search(page)
    assert link is not None
    assert link.group(2) is None
    header = page[page.index('<header class="top">') : page.index("</header>")]
    assert re.search(
        r"My account</a>\s*<button type=\"submit\">Log out</button>", header
    )

    account = logged_in.get(link.group(1))

    assert account.status_code == 200
    assert "<h1>My account</h1>" in page_of(account)
    assert ACCOUNT_LINK.search(page_of(account)).group(2) == ' aria-current="page"'


def test_the_login_page_has_no_account_link(client):
    assert "My account" not in page_of(client.get("/staff/login"))
