"""A request that fails answers with the app's own error, its headers intact, and a
body too large is refused before it is read (issue 15, defects 4 and 8)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cm_service.extensions import db


@pytest.fixture
def failing_app(app: Flask) -> Flask:
    """Two routes that leave the session failed, as a database error does."""

    def raises():
        db.session.execute(text("SELECT * FROM no_such_table"))
        return "unreachable"

    def swallows():
        try:
            db.session.execute(text("SELECT * FROM no_such_table"))
        except SQLAlchemyError:
            pass  # the transaction is now failed, and teardown must cope
        return "ok"

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production, not as TESTING
    app.add_url_rule("/staff/_raises", "raises", raises)
    app.add_url_rule("/api/v1/_raises", "api_raises", raises)
    app.add_url_rule("/staff/_swallows", "swallows", swallows)
    return app


def test_a_database_error_answers_with_the_app_page_and_headers(failing_app):
    response = failing_app.test_client().get("/staff/_raises")

    assert response.status_code == 500
    assert "text/html" in response.content_type
    assert "cm-service" in response.get_data(as_text=True).lower()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers


def test_a_database_error_on_the_api_answers_json(failing_app):
    response = failing_app.test_client().get("/api/v1/_raises")

    assert response.status_code == 500
    assert set(response.json) == {"error", "field", "message"}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_failed_transaction_left_by_a_view_does_not_break_teardown(failing_app):
    client = failing_app.test_client()

    first = client.get("/staff/_swallows")
    second = client.get("/staff/login")  # the session works again

    assert first.status_code == 200
    assert second.status_code == 200


def test_a_body_over_the_limit_is_refused_before_it_is_read(app):
    limit = app.config["MAX_CONTENT_LENGTH"]

    response = app.test_client().post(
        "/staff/login",
        data=b"x" * (limit + 1),
        content_type="application/x-www-form-urlencoded",
    )

    assert limit >= 4 * 1024 * 1024  # the lab CSV import's 20,000 lines fit
    assert response.status_code == 413
    assert response.headers["X-Content-Type-Options"] == "nosniff"
