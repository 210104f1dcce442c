"""Inbound webhooks from the text-message provider (docs/reminders.md).

POST /hooks/sms/twilio receives the replies to reminder texts as Twilio posts
them (From, Body, ...). Only requests carrying Twilio's X-Twilio-Signature made
with TWILIO_AUTH_TOKEN are accepted (403 otherwise; 404 while no token is
configured). A STOP-word reply ends text reminders to that number. No CSRF
token: the signature is the authentication, and no cookie is read.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request

from . import clock
from .services.integrations import reminders
from .services.integrations.delivery import twilio_signature

bp = Blueprint("hooks", __name__, url_prefix="/hooks")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@bp.post("/sms/twilio")
def twilio_reply():
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    if not token:
        abort(404)
    url = current_app.config.get("SMS_WEBHOOK_URL") or request.url
    params = {key: request.form[key] for key in request.form}
    expected = twilio_signature(token, url, params)
    given = request.headers.get("X-Twilio-Signature", "")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        abort(403)
    if reminders.is_stop(params.get("Body", "")):
        reminders.stop_reply(params.get("From", ""), now=clock.now())
    return Response(EMPTY_TWIML, mimetype="application/xml")
