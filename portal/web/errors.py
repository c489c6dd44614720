"""Error pages: every error is a page on the right template set, in the user's language."""
import logging

from flask import g
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from . import device as device_module
from ..db import database
from .limits import minutes_to_wait
from .rendering import render

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Forbidden"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist or is no longer available.")),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Too large"), _l("What you sent is too large. Please send something smaller.")),
    429: (_l("Too many requests"), _l("Too many attempts. Please try again later.")),
    500: (_l("Something went wrong"), _l("An error occurred on our side. Please try again in a moment.")),
}


def error_page(code, message=None, title=None):
    """Render the error page for ``code`` with an optional specific message."""
    default_title, default_message = MESSAGES.get(code, MESSAGES[500])
    if "device" not in g:
        g.device = device_module.current()
    response = render("error.html", status=code, code=code,
                      title=title or default_title, message=message or default_message)
    return response


def init_app(app):
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return error_page(400, _l("Your form expired or was sent from another page. "
                                  "Please open the page again and resend it."))

    @app.errorhandler(HTTPException)
    def _http(error):
        if error.code is None or error.code < 400:
            return error
        message = getattr(error, "portal_message", None)
        if isinstance(error, RateLimitExceeded):
            message = ngettext("You are doing this too often. Please wait %(num)d minute and try again.",
                               "You are doing this too often. Please wait %(num)d minutes and try again.",
                               minutes_to_wait())
        response = error_page(error.code if error.code in MESSAGES else 400, message=message)
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        if error.code == 429 and getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        response.status_code = error.code
        return response

    @app.errorhandler(Exception)
    def _unexpected(error):
        log.exception("unhandled error")
        if not database.is_closed():
            # Roll back whatever the failed request left open.
            try:
                database.rollback()
            except Exception:  # pragma: no cover - the connection may be gone
                pass
        try:
            return error_page(500)
        except Exception:  # pragma: no cover - rendering itself failed
            return InternalServerError().get_response()
