"""A test client that behaves like a browser: it reads the CSRF token from the form."""

from __future__ import annotations

import re

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client, username: str, password: str = "correct horse battery"):
    token = csrf_token(client, "/staff/login")
    return client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token},
    )
