"""Delivery backends: how an outbox message leaves (docs/reminders.md).

E-mail goes by SMTP (smtplib) with the outbox id in the Message-ID; text messages
through a provider adapter, Twilio's Messages REST API here (urllib, basic auth,
base URL configurable); each channel has a console backend for development (the
default when nothing is configured: `make run` sends nothing anywhere). A backend
raises DeliveryError; `permanent` errors (an address the provider refuses) go
to the dead-letter list at once, the others are retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """One message to send; `key` (from the outbox id) is the same on every
    attempt, so a resend after a crash carries the same identity."""

    id: int
    channel: str
    address: str
    subject: str
    body: str
    language: str
    claimed_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"outbox-{self.id}"


class Backend(Protocol):
    def send(self, message: Outgoing) -> str:
        """Send; return the provider's reference (Message-ID, message sid)."""

    def already_sent(self, message: Outgoing) -> str | None:
        """After a crash between send and mark: the provider's reference when the
        provider shows the message was accepted, else None (then it is resent)."""


@dataclass
class ConsoleBackend:
    """Development: prints the message (and keeps the last hundred)."""

    channel: str
    sent: deque[Outgoing] = field(default_factory=lambda: deque(maxlen=100))

    def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        print(f"[{self.channel} to {message.address}] {message.body}", flush=True)  # noqa: T201
        return message.key

    def already_sent(self, message: Outgoing) -> str | None:
        return None


@dataclass(frozen=True)
class SmtpBackend:
    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = "reminders@localhost"
    starttls: bool = True
    timeout: float = 20.0

    def message_id(self, message: Outgoing) -> str:
        domain = self.sender.rpartition("@")[2].strip(">") or "localhost"
        return f"<{message.key}@{domain}>"

    def build(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = self.message_id(message)
        mail["Content-Language"] = message.language
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.body)
        return mail

    def send(self, message: Outgoing) -> str:
        mail = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(
                f"refused: {error.recipients}", permanent=True
            ) from None
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            raise DeliveryError(
                f"SMTP {error.smtp_code}: {error.smtp_error!r}", permanent=permanent
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from None
        return mail["Message-ID"]

    def already_sent(self, message: Outgoing) -> str | None:
        # SMTP cannot be asked; the resend carries the same Message-ID.
        return None


@dataclass(frozen=True)
class TwilioSms:
    """Twilio's Messages API: POST {base}/2010-04-01/Accounts/{sid}/Messages.json
    with To, From and Body, HTTP basic auth (account sid, auth token)."""

    account_sid: str
    auth_token: str
    sender: str
    base_url: str = "https://api.twilio.com"
    timeout: float = 20.0

    def _url(self, query: Mapping[str, str] | None = None) -> str:
        sid = urllib.parse.quote(self.account_sid, safe="")
        url = f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        return f"{url}?{urllib.parse.urlencode(query)}" if query else url

    def _request(
        self, url: str, data: bytes | None, key: str | None = None
    ) -> dict[str, Any]:
        token = base64.b64encode(
            f"{self.account_sid}:{self.auth_token}".encode()
        ).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if key:
            # Twilio documents no idempotency key for this call; sent anyway for
            # proxies and providers that honour one (the test stand-in does).
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read().decode("utf-8") or "{}")
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            permanent = 400 <= error.code < 500 and error.code not in (408, 429)
            raise DeliveryError(
                f"HTTP {error.code}: {detail}", permanent=permanent
            ) from None
        except (OSError, ValueError) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from None

    def send(self, message: Outgoing) -> str:
        form = {"To": message.address, "From": self.sender, "Body": message.body}
        found = self._request(
            self._url(), urllib.parse.urlencode(form).encode(), message.key
        )
        sid = str(found.get("sid") or "")
        if not sid:
            raise DeliveryError("the provider answered without a message sid")
        return sid

    def already_sent(self, message: Outgoing) -> str | None:
        """Twilio's list of messages to the number sent since the claim day: the
        same body means the crashed attempt got through."""
        if message.claimed_at is None:
            return None
        query = {
            "To": message.address,
            "DateSent>": message.claimed_at.date().isoformat(),
            "PageSize": "50",
        }
        try:
            found = self._request(self._url(query), None)
        except DeliveryError:
            return None
        for item in found.get("messages") or []:
            if item.get("body") == message.body and item.get("status") not in (
                "failed",
                "undelivered",
                "canceled",
            ):
                return str(item.get("sid"))
        return None


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each
    POST parameter's name and value, sorted by name."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


_CONSOLES: dict[str, ConsoleBackend] = {}


def backend_for(channel: str, config: Mapping[str, Any]) -> Backend:
    """The configured backend of `channel` ("sms" | "email")."""
    if channel == "email":
        kind = config.get("REMINDER_EMAIL_BACKEND") or (
            "smtp" if config.get("SMTP_HOST") else "console"
        )
        if kind == "smtp":
            return SmtpBackend(
                host=config["SMTP_HOST"],
                port=int(config.get("SMTP_PORT") or 587),
                user=config.get("SMTP_USER") or "",
                password=config.get("SMTP_PASSWORD") or "",
                sender=config.get("SMTP_FROM") or "reminders@localhost",
                starttls=bool(config.get("SMTP_STARTTLS", True)),
            )
    else:
        kind = config.get("REMINDER_SMS_BACKEND") or "console"
        if kind == "twilio":
            return TwilioSms(
                account_sid=config["TWILIO_ACCOUNT_SID"],
                auth_token=config["TWILIO_AUTH_TOKEN"],
                sender=config["TWILIO_FROM"],
                base_url=config.get("TWILIO_BASE_URL") or "https://api.twilio.com",
            )
    if kind != "console":
        raise ValueError(f"unknown {channel} backend {kind!r}")
    return _CONSOLES.setdefault(channel, ConsoleBackend(channel))
