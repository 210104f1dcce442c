"""Error pages: HTML for browsers, the API's JSON shape for JSON clients."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db
from .portal import errors as portal_errors
from .services.errors import CMError


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best_match(["application/json", "text/html"])
        == "application/json"
    )


def _http_error(error: HTTPException):
    if _wants_json():
        code = (error.name or "error").lower().replace(" ", "_")
        body = {"error": code, "field": None, "message": error.description}
        return body, error.code
    if portal_errors.is_portal_request():
        # The participant's page, language and way back (never the staff login).
        return portal_errors.error_page(error.code or 500)
    return render_template("errors/error.html", error=error), error.code


def _server_error(error: InternalServerError):
    # A database error leaves the session failed: roll it back before the error
    # page (which reads the signed-in user) touches it, so the answer is still
    # the app's own, with its headers, not Werkzeug's bare page.
    db.session.rollback()
    return _http_error(error)


def _domain_error(error: CMError):
    if _wants_json():
        body = {"error": error.code, "field": error.field, "message": error.message}
        return body, error.status
    if portal_errors.is_portal_request():
        # Only a refused value's message says more than the status (and is
        # written for the participant, in the catalogue).
        shown = error.message if error.status == 422 else None
        return portal_errors.error_page(error.status, shown)
    return render_template("errors/error.html", error=error), error.status


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(CMError, _domain_error)
