"""JSON API v1 for integrations: token-authenticated, scoped to the token's clinic."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
