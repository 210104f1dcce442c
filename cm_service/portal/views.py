"""Participant portal (phone-first): parse, call one service, render."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/me")
