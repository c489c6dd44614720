"""Feature-phone plumbing: Shift_JIS (Windows-31J) in and out.

Input: a WSGI middleware re-encodes the query string and urlencoded form bodies
of Shift_JIS handsets from cp932 to UTF-8 before Flask parses them (Werkzeug 3
has no per-request charset). Output: an ``after_request`` hook encodes text
bodies for those handsets to cp932, with the JIS/Unicode round-trip fixes and
``〓`` for characters cp932 cannot hold.
"""
import codecs
import io
from urllib.parse import parse_qsl, urlencode

from flask import g

from .device import SHIFT_JIS, detect

GETA = "〓"

# Unicode characters that have a cp932 twin: send the twin the handset knows.
_TO_CP932_TWIN = str.maketrans({
    "\u301c": "\uff5e",  # WAVE DASH -> FULLWIDTH TILDE
    "\u2016": "\u2225",  # DOUBLE VERTICAL LINE -> PARALLEL TO
    "\u2212": "\uff0d",  # MINUS SIGN -> FULLWIDTH HYPHEN-MINUS
    "\u00a2": "\uffe0",  # CENT SIGN
    "\u00a3": "\uffe1",  # POUND SIGN
    "\u00ac": "\uffe2",  # NOT SIGN
    "\u2014": "\u2015",  # EM DASH -> HORIZONTAL BAR
})


def _geta(error):
    return GETA, error.end


codecs.register_error("geta", _geta)


def to_cp932(text):
    """Encode ``text`` for a Shift_JIS handset: round-trip fixes, 〓 for the rest."""
    return text.translate(_TO_CP932_TWIN).encode("cp932", errors="geta")


def _recode_qs(raw, source):
    """Re-encode a urlencoded string from ``source`` to UTF-8."""
    pairs = parse_qsl(raw, keep_blank_values=True, encoding=source, errors="replace")
    return urlencode(pairs, encoding="utf-8")


class ShiftJISInput:
    """WSGI middleware: decode cp932 query strings and form bodies of Shift_JIS handsets."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        device = detect(environ.get("HTTP_USER_AGENT", ""), environ.get("wsgi.url_scheme") == "https")
        if device.charset == SHIFT_JIS:
            self._recode(environ)
        return self.app(environ, start_response)

    @staticmethod
    def _recode(environ):
        qs = environ.get("QUERY_STRING", "")
        if qs:
            environ["QUERY_STRING"] = _recode_qs(qs, "cp932")
        ctype = environ.get("CONTENT_TYPE", "")
        if environ.get("REQUEST_METHOD") == "POST" and ctype.startswith("application/x-www-form-urlencoded"):
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            # Bodies larger than the form limit are left for Flask to refuse (413).
            if 0 < length <= 1024 * 1024:
                raw = environ["wsgi.input"].read(length).decode("latin-1")
                body = _recode_qs(raw, "cp932").encode("ascii")
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))


def encode_response(response):
    """``after_request``: encode text bodies for Shift_JIS handsets and set the charset."""
    device = getattr(g, "device", None)
    if device is None or device.charset != SHIFT_JIS or response.direct_passthrough:
        return response
    if not response.mimetype.startswith(("text/", "application/xhtml+xml")):
        return response
    text = response.get_data(as_text=True)
    response.set_data(to_cp932(text))
    response.charset = "Shift_JIS"
    response.headers["Content-Type"] = f"{response.mimetype}; charset=Shift_JIS"
    return response
