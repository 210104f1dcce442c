"""The portal's own error pages: in the portal's style and the participant's
language, linking back to the portal (home, or the clinic's own login link), never
to the staff login. cm_service/errors.py sends every HTML error under /me here.
"""

from __future__ import annotations

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh

from ..rules.messages import N_
from . import access

# What each status means to a participant: a title and a sentence (msgids).
PAGES = {
    400: (
        N_("That did not work"),
        N_("The page may have been open too long. Go back, reload it and try again."),
    ),
    403: (N_("Not allowed"), N_("This page is not open to you.")),
    404: (N_("Not found"), N_("There is nothing here.")),
    405: (N_("That did not work"), N_("Go back and try again.")),
    429: (N_("Too many tries"), N_("Wait a few minutes, then try again.")),
    500: (
        N_("Something went wrong"),
        N_("Please try again in a moment. If it keeps happening, ask staff for help."),
    ),
}


def is_portal_request() -> bool:
    return request.path == "/me" or request.path.startswith("/me/")


def error_page(status: int, message: str | None = None):
    """The portal's error page for `status`; `message` (an English msgid the
    catalogue may translate, e.g. a refused field's) replaces the sentence."""
    participant = g.get("portal_participant")
    if participant is None:
        try:
            participant = access.session_participant()
        except Exception:  # a failed database: still answer, without the record
            participant = None
    if participant is not None:
        g.portal_participant = participant  # the page in their language
    refresh()
    try:
        login_url = access.login_url()
    except Exception:  # a failed database: the page that points to the card
        login_url = url_for("portal.login")
    title, sentence = PAGES.get(status, PAGES[500 if status >= 500 else 400])
    from .views import portal_context  # views registers this module's handlers

    context = portal_context()
    context.update(
        title=_(title),
        sentence=_(message) if message else _(sentence),
        logged_in=participant is not None,
        login_url=login_url,
        status=status,
    )
    return render_template("portal/error.html", **context), status
