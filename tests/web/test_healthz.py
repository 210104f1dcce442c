"""The load balancer's liveness probe."""

from __future__ import annotations

from sqlalchemy import event

from cm_service.extensions import db


def test_healthz_answers_ok_without_a_login_or_a_database_query(app):
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = app.test_client().get("/healthz")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert statements == []
