"""A staff form posted after the session expired is kept, then shown again filled in.

Before anything else in a request (before the CSRF check, which would otherwise
turn an old form into a 400), a POST whose session ended by time (sessions.py) is
kept as a draft for the account the session belonged to (services/access/drafts.py), and
never acted on: the session ends as it would have, and the login page's `next` is
the page the form was on, with `?draft=<token>`. The login page says a draft is
waiting; after that account signs in (and only that account: the draft is claimed
with the signed-in user, not the cookie that posted it), the page shows a "Not saved
yet" banner with the kept values, and static/draft.js fills them into the form that
posts to the draft's path. A page without such a form still lists the values.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import clock
from ..extensions import db
from ..services.access import drafts
from ..services.errors import InvalidInput
from ..transactions import SAFE_METHODS
from . import sessions

DRAFT_ARG = "draft"
# Forms never kept: signing in and out, the account's own (passwords, second
# factor), and what is not a staff page.
_NOT_KEPT_ENDPOINTS = frozenset(
    {
        "staff.account.login",
        "staff.account.login_code",
        "staff.account.logout",
        "static",
    }
)
_NOT_KEPT_BLUEPRINTS = frozenset({"api", "portal", "staff.account"})
TOO_LARGE = (
    "What you sent was too large to keep, so it was not saved: log in, then enter "
    "it again."
)
NOT_KEPT = "What you sent was not saved: log in, then enter it again."


def _keep_expired_post() -> Any:
    """Before the CSRF check: keep a form posted by a session that ended by time,
    end the session, and send its owner to sign in and see the form again."""
    g.pop("form_draft", None)  # an outer app context (a test) outlives a request
    if request.method in SAFE_METHODS or request.endpoint is None:
        return None
    if (
        request.endpoint in _NOT_KEPT_ENDPOINTS
        or request.blueprint in _NOT_KEPT_BLUEPRINTS
    ):
        return None
    found = sessions.expired_owner()
    if found is None:
        return None  # a live, revoked or anonymous session: handled as before
    user, reason = found
    page, token, refused = _form_page(), None, NOT_KEPT
    if not _cross_site():
        try:
            pairs = list(request.form.items(multi=True))
            token = drafts.keep(user, request.path, pairs, now=clock.now()).token
        except (InvalidInput, RequestEntityTooLarge):
            db.session.rollback()
            refused = TOO_LARGE
    sessions.end_expired(reason)
    if token is None:
        flash(refused)
        return redirect(url_for("staff.account.login", next=page))
    return redirect(url_for("staff.account.login", next=with_draft(page, token)))


def _cross_site() -> bool:
    """A post another site made the browser send: never kept (the session cookie
    is SameSite=Lax, so this is a second guard)."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    return bool(origin) and urlsplit(origin).netloc != request.host


def _form_page() -> str:
    """The page the form was on, to show it again: the Referer when it is a staff
    page of this site, else the posted path or its parent when either is a page;
    else Today (where the kept values are listed)."""
    candidates = []
    referer = urlsplit(request.referrer or "")
    if referer.netloc == request.host and referer.scheme in ("http", "https"):
        candidates.append(without_draft(referer.path, referer.query))
    candidates += [request.path, request.path.rsplit("/", 1)[0]]
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for target in candidates:
        try:
            endpoint, _ = adapter.match(urlsplit(target).path, method="GET")
        except HTTPException:
            continue  # not a page: 404, 405, or a redirect
        if endpoint in _NOT_KEPT_ENDPOINTS or endpoint.split(".")[0] in (
            "api",
            "portal",
        ):
            continue
        if _safe(target):
            return target
    return url_for("staff.today.today")


def _safe(target: str) -> bool:
    # The login view's own check: a same-site relative path, never another host.
    return (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not urlsplit(target).netloc
    )


def without_draft(path: str, query: str) -> str:
    kept = [
        (k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != DRAFT_ARG
    ]
    return f"{path}?{urlencode(kept)}" if kept else path


def with_draft(target: str, token: str) -> str:
    parts = urlsplit(target)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k != DRAFT_ARG] + [(DRAFT_ARG, token)]
    return f"{parts.path}?{urlencode(query)}"


def draft_in(target: str | None) -> str | None:
    """The draft token in a `next` target, if any."""
    if not target:
        return None
    for key, value in parse_qsl(urlsplit(target).query):
        if key == DRAFT_ARG:
            return value
    return None


def waiting_in(target: str | None) -> bool:
    """Whether `next` leads to a draft still waiting (the login page says so)."""
    token = draft_in(target)
    return token is not None and drafts.waiting(token, now=clock.now())


def form_draft() -> drafts.Draft | None:
    """For the base template: the signed-in user's draft this page's `?draft=`
    names, claimed (deleted) on first use in the request; None otherwise."""
    if not has_request_context():
        return None
    if "form_draft" not in g:
        g.form_draft = None
        token = request.args.get(DRAFT_ARG)
        if token and request.method == "GET" and current_user.is_authenticated:
            g.form_draft = drafts.claim(
                current_user._get_current_object(), token, now=clock.now()
            )
    return g.form_draft


def _pass_draft_on(response: Response) -> Response:
    """A page that redirects before showing its draft passes `?draft=` on, so the
    draft is shown where the redirect lands instead of waiting unseen."""
    token = request.args.get(DRAFT_ARG)
    location = response.headers.get("Location")
    if (
        token
        and location
        and response.status_code in (301, 302, 303, 307, 308)
        and "form_draft" not in g
        and _safe(location)
        and draft_in(location) is None
        and not location.startswith(url_for("staff.account.login"))
    ):
        response.headers["Location"] = with_draft(location, token)
    return response


def label(name: str) -> str:
    """A field's name in words for the kept-values list: "s-result_cocaine" is
    "Result cocaine"."""
    bare = name.split("-", 1)[1] if "-" in name[:3] else name
    words = bare.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def init_app(app: Flask) -> None:
    # First of all before_request functions: before CSRFProtect's check.
    app.before_request_funcs.setdefault(None, []).insert(0, _keep_expired_post)
    app.after_request(_pass_draft_on)
    app.add_template_global(form_draft)
    app.add_template_filter(label, "draft_label")
