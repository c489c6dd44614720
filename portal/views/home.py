"""The home page, the notices center, the language switch and the jump page to other sites."""
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..config import LANGUAGES
from ..db import prepared
from ..notices import notices_for
from ..web.pagecache import cacheable
from ..web.rendering import render
from .util import safe_next

bp = Blueprint("home", __name__)


@dataclass(frozen=True)
class Area:
    """An entry of the home menu."""

    label: str
    endpoint: str
    admin_only: bool = False


# The numbered home menu; each area adds itself here when it is built.
AREAS = [
    Area(_l("Diary"), "diary.feed"),
    Area(_l("Messages"), "messages.inbox"),
    Area(_l("Voice"), "voice.timeline"),
    Area(_l("Photos"), "photos.my_albums"),
    Area(_l("Friends"), "people.my_friends"),
    Area(_l("My profile"), "people.my_profile"),
    Area(_l("Find people"), "people.search"),
    Area(_l("Footprints"), "footprints.index"),
    Area(_l("Invite friends"), "invites.index"),
    Area(_l("Settings"), "settings.index"),
    Area(_l("Admin"), "admin.index", admin_only=True),
]


HOME_ITEMS = 5  # entries and voices shown on the home page


def areas_for(user):
    """The menu entries ``user`` may use."""
    return [area for area in AREAS if not area.admin_only or user.is_admin]


@bp.route("/")
@cacheable
def index():
    """Logged out: what this site is. Logged in: the menu of areas and the notices."""
    if not current_user.is_authenticated:
        return render("home.html", notices=[])
    from .diary import friends_latest
    from .voice import timeline_for

    voices = prepared(("home_voices", HOME_ITEMS), lambda viewer: timeline_for(viewer).limit(HOME_ITEMS),
                      viewer=current_user)
    return render("home.html", notices=notices_for(current_user), areas=areas_for(current_user),
                  entries=friends_latest(current_user, HOME_ITEMS), voices=list(voices))


@bp.route("/notices")
@login_required
def notices():
    """Every kind of notice in one place, each linking to where it is marked seen."""
    return render("notices.html", notices=notices_for(current_user))


@bp.route("/jump")
def jump():
    """Leaving the site: a page with the link, sent without a Referer (KEITAI.md)."""
    url = request.args.get("url", "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        abort(400)
    response = render("jump.html", url=url)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/lang/<code>")
def language(code):
    """Switch the language for this session (the account setting is on the settings page).

    Only the session changes, never the database, so following this link is safe.
    """
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next())
