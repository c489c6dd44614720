"""Feature-phone plumbing: Shift_JIS (Windows-31J) in and out.

Input: a WSGI middleware re-encodes the query string and urlencoded form bodies
of Shift_JIS handsets from cp932 to UTF-8 before Flask parses them (Werkzeug 3
has no per-request charset). Output: an ``after_request`` hook encodes text
bodies for those handsets to cp932, with the JIS/Unicode round-trip fixes and
``〓`` for characters cp932 cannot hold.
"""
import codecs
import io
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from flask import Request, g
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.http import parse_options_header

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


EMOJI_TABLE = Path(__file__).parent.parent / "data" / "emoji.tsv"
CARRIER_COLUMNS = {"docomo": "docomo", "au": "kddi", "softbank": "softbank"}
_PUA = re.compile("[\ue000-\uf8ff]")
_CP932_PUA_MAX = 0xE757  # cp932's user-defined area ends here


@lru_cache(maxsize=len(CARRIER_COLUMNS))
def _emoji_tables(carrier):
    """({PUA: Unicode text}, (translate table, sequence regex, sequences) for output) of one
    carrier, read when its first handset comes (about 200 KB each: a site few docomo phones
    visit does not keep au's and SoftBank's). Constant data, derived from emoji4unicode (see
    portal/data/NOTICE)."""
    column = CARRIER_COLUMNS[carrier]
    to_unicode, to_carrier, sequences = {}, {}, {}
    with EMOJI_TABLE.open(encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if not line.startswith("#")]
    header = rows[0]
    for values in rows[1:]:
        row = dict(zip(header, values, strict=True))
        text = "".join(chr(int(cp, 16)) for cp in row["unicode"].split()) if row["unicode"] else ""
        fallback = row["text_fallback"] or "〓"
        # Output replaces characters in finished markup: a fallback such as "[<]" goes out escaped.
        shown = fallback.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        code = row[column]
        exact = code and not code.startswith(">")
        # A code may be a sequence ("E63E+E63F"): several carrier emoji for one.
        pua = "".join(chr(int(part, 16)) for part in code.lstrip(">").split("+")) if code else ""
        if carrier == "au" and any(ord(ch) > _CP932_PUA_MAX for ch in pua):
            pua = ""  # cannot travel in Shift_JIS: au gets the text fallback
        if exact and len(pua) == 1:
            to_unicode[pua] = text or fallback
        if len(text) == 1 and ord(text) not in to_carrier:
            to_carrier[ord(text)] = pua or shown
        elif len(text) > 1:  # flags (two regional indicators), keycaps (digit + U+20E3)
            sequences.setdefault(text, pua or shown)
    to_carrier[0xFE0F] = None  # emoji presentation selector: carriers draw their own
    pattern = "|".join(re.escape(seq) for seq in sorted(sequences, key=len, reverse=True))
    return to_unicode, (to_carrier, re.compile(pattern), sequences)


def emoji_in(text, carrier):
    """Carrier emoji (Private Use Area) in input become Unicode (or the text fallback)."""
    if carrier not in CARRIER_COLUMNS or not text or not _PUA.search(text):
        return text
    table = _emoji_tables(carrier)[0]
    return _PUA.sub(lambda m: table.get(m.group(0), "〓"), text)


def emoji_out(text, carrier):
    """Unicode emoji sent to a carrier handset become its own codes, or the text fallback."""
    if carrier not in CARRIER_COLUMNS:
        return text
    table, pattern, sequences = _emoji_tables(carrier)[1]
    text = pattern.sub(lambda m: sequences[m.group(0)], text.replace("\ufe0f", ""))
    return text.translate(table)


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


class _ShiftJISMultiPartParser(MultiPartParser):
    """Text fields of a Shift_JIS handset's multipart form come in cp932 (no charset given)."""

    def get_part_charset(self, headers):
        declared = parse_options_header(headers.get("content-type", ""))[1].get("charset", "").lower()
        if declared in ("", "shift_jis", "shift-jis", "sjis", "x-sjis", "cp932", "windows-31j"):
            return "cp932"
        return super().get_part_charset(headers)


class _ShiftJISFormDataParser(FormDataParser):
    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = _ShiftJISMultiPartParser(stream_factory=self.stream_factory,
                                          max_form_memory_size=self.max_form_memory_size,
                                          max_form_parts=self.max_form_parts, cls=self.cls)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class PortalRequest(Request):
    """Flask's request; multipart forms of Shift_JIS handsets are decoded from cp932
    (urlencoded ones are re-encoded by ShiftJISInput before they get here)."""

    def make_form_data_parser(self):
        device = detect(self.environ.get("HTTP_USER_AGENT", ""))
        if device.charset == SHIFT_JIS:
            self.form_data_parser_class = _ShiftJISFormDataParser
        return super().make_form_data_parser()


def encode_response(response):
    """``after_request``: carrier emoji for carrier handsets; Shift_JIS for those that need it."""
    device = getattr(g, "device", None)
    if device is None or response.direct_passthrough:
        return response
    if not response.mimetype.startswith(("text/", "application/xhtml+xml")):
        return response
    if device.charset != SHIFT_JIS:
        if device.carrier in CARRIER_COLUMNS:
            response.set_data(emoji_out(response.get_data(as_text=True), device.carrier).encode("utf-8"))
        return response
    text = emoji_out(response.get_data(as_text=True), device.carrier)
    response.set_data(to_cp932(text))
    response.charset = "Shift_JIS"
    response.headers["Content-Type"] = f"{response.mimetype}; charset=Shift_JIS"
    return response
