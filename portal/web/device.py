"""Who is asking: the kind of client (mobile | pc), its carrier, cookies, charset and budgets.

Detection follows KEITAI.md (first match wins). The result is computed once per
request into ``g.device``; views read page sizes and budgets from it and never
branch on the device themselves.
"""
import re
from dataclasses import dataclass

from flask import g, request, session

SHIFT_JIS = "Shift_JIS"
UTF8 = "UTF-8"

# (pattern, carrier, default cookie support, charset), first match wins.
_RULES = [
    (re.compile(r"^DoCoMo/"), "docomo", False, SHIFT_JIS),
    (re.compile(r"^(KDDI-|UP\.Browser/)"), "au", True, SHIFT_JIS),
    (re.compile(r"^J-PHONE"), "softbank", True, SHIFT_JIS),
    (re.compile(r"^(SoftBank|Semulator|Vodafone|Vemulator)"), "softbank", True, UTF8),
    (re.compile(r"^Mozilla/3\.0\((WILLCOM|DDIPOCKET)"), "willcom", True, SHIFT_JIS),
    (re.compile(r"^emobile/"), "emobile", True, UTF8),
    (re.compile(r"Opera Mini/|KAIOS/|Series40|S40OviBrowser|Nokia|PlayStation Portable"
                r"|Nintendo (DSi|3DS)|Kindle/"), "other", True, UTF8),
    (re.compile(r"^(w3m|Lynx|Links|ELinks|Dillo)", re.IGNORECASE), "text", True, UTF8),
]
_SMARTPHONE = re.compile(r"iPhone|iPad|iPod|Android|Mobile")
_DOCOMO_CACHE = re.compile(r"[(/;]c(\d+)[;/)]")

DOCTYPE_XHTML_MP = ('<!DOCTYPE html PUBLIC "-//WAPFORUM//DTD XHTML Mobile 1.0//EN" '
                    '"http://www.wapforum.org/DTD/xhtml-mobile10.dtd">')
DOCTYPE_I_XHTML = ('<!DOCTYPE html PUBLIC "-//i-mode group (ja)//DTD XHTML i-XHTML'
                   '(Locale/Ver.=ja/2.0) 1.0//EN" "i-xhtml_4ja_10.dtd">')

VIEWS = ("mobile", "pc")


@dataclass(frozen=True)
class Device:
    """What the server knows about the client of this request."""

    kind: str  # "mobile" or "pc": which template set
    carrier: str  # docomo, au, softbank, willcom, emobile, other, text, smartphone, desktop
    cookies: bool  # whether the client is expected to keep cookies
    charset: str  # "Shift_JIS" or "UTF-8": the encoding of pages and form input
    cache_kb: int = 0  # docomo's cNN field: what the handset can hold per page

    @property
    def codec(self):
        """Python codec for the charset (Shift_JIS means Windows-31J)."""
        return "cp932" if self.charset == SHIFT_JIS else "utf-8"

    @property
    def is_mobile(self):
        return self.kind == "mobile"

    @property
    def is_carrier(self):
        """A Japanese carrier handset (gets carrier emoji, never gzip)."""
        return self.carrier in ("docomo", "au", "softbank", "willcom", "emobile")

    @property
    def markup_budget(self):
        """Most bytes of markup a page may have as sent (mobile only)."""
        budget = 5120
        if self.cache_kb:
            budget = min(budget, self.cache_kb * 1024)
        return budget if self.is_mobile else 0

    @property
    def text_budget(self):
        """Bytes of user text one mobile page may carry beside its menus (0: no splitting)."""
        return self.markup_budget - 2300 if self.is_mobile else 0

    @property
    def page_size(self):
        """Items per page of a list."""
        return 10 if self.is_mobile else 20

    @property
    def thumb_variant(self):
        """Image variant for lists (portal/media.py)."""
        return "m120" if self.is_mobile else "p200"

    @property
    def photo_variant(self):
        """Image variant for a photo's own page."""
        return "m240" if self.is_mobile else "p1024"

    @property
    def album_page_size(self):
        """Photos per album page: two 8 KB thumbnails keep a phone page under 20 KB."""
        return 2 if self.is_mobile else 24

    @property
    def inline_comments(self):
        """Comments shown on an entry's own page (mobile lists them on a page of their own)."""
        return 0 if self.is_mobile else 20

    @property
    def comment_page_size(self):
        """Comments per page of a comments list."""
        return 5 if self.is_mobile else 20

    @property
    def long_page_size(self):
        """Items per page of a list of long texts (introductions, comments)."""
        return 1 if self.is_mobile else 20

    @property
    def doctype(self):
        return DOCTYPE_I_XHTML if self.carrier == "docomo" else DOCTYPE_XHTML_MP


def detect(user_agent, secure=False):
    """The Device for a User-Agent string, before any override."""
    ua = user_agent or ""
    for pattern, carrier, cookies, charset in _RULES:
        if pattern.search(ua):
            cache_kb = 0
            if carrier == "docomo":
                match = _DOCOMO_CACHE.search(ua)
                cache_kb = int(match.group(1)) if match else 5
                # Only i-mode browser 2.0 (cache field c500) keeps cookies.
                cookies = cache_kb >= 500
            elif carrier == "au" and secure:
                cookies = False  # EZweb sends no cookies over https
            return Device("mobile", carrier, cookies, charset, cache_kb)
    carrier = "smartphone" if _SMARTPHONE.search(ua) else "desktop"
    return Device("pc", carrier, True, UTF8)


def current():
    """Detect the device of the current request, with the remembered view override."""
    device = detect(request.headers.get("User-Agent", ""), request.is_secure)
    wanted = request.args.get("view")
    if wanted in VIEWS:
        session["view"] = wanted
    view = session.get("view")
    if view in VIEWS and view != device.kind:
        device = Device(view, device.carrier, device.cookies, device.charset, device.cache_kb)
    return device


def wants_xhtml(device):
    """Serve application/xhtml+xml to docomo and to clients whose Accept lists it."""
    if not device.is_mobile:
        return False
    if device.carrier == "docomo":
        return True
    return "application/xhtml+xml" in request.headers.get("Accept", "")


def init_app(app):
    """Set ``g.device`` before every request."""

    @app.before_request
    def _detect_device():
        g.device = current()
