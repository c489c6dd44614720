"""Atom feeds of members' public diary entries."""
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, abort, url_for
from flask_login import current_user

from .. import privacy
from ..models import DiaryEntry
from ..models.visibility import PUBLIC
from .util import get_user_or_404

bp = Blueprint("feeds", __name__)
ATOM = "http://www.w3.org/2005/Atom"


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.route("/u/<login_id>/diary.atom")
def diary_atom(login_id):
    """The newest public entries of a member (nothing else, whoever asks)."""
    owner = get_user_or_404(login_id)
    if not privacy.can_view_profile(current_user, owner):
        abort(404)
    entries = list(DiaryEntry.select().where((DiaryEntry.owner == owner.id) & (DiaryEntry.visibility == PUBLIC))
                   .order_by(DiaryEntry.id.desc()).limit(20))
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = owner.nickname
    ET.SubElement(feed, f"{{{ATOM}}}id").text = url_for("diary.user_diary", login_id=owner.login_id, _external=True)
    ET.SubElement(feed, f"{{{ATOM}}}link", href=url_for("diary.user_diary", login_id=owner.login_id,
                                                        _external=True))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=url_for(".diary_atom", login_id=owner.login_id,
                                                                    _external=True))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _iso(entries[0].updated_at if entries else owner.created_at)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = owner.nickname
    for entry in entries:
        item = ET.SubElement(feed, f"{{{ATOM}}}entry")
        link = url_for("diary.entry", entry_id=entry.id, _external=True)
        ET.SubElement(item, f"{{{ATOM}}}title").text = entry.title
        ET.SubElement(item, f"{{{ATOM}}}id").text = link
        ET.SubElement(item, f"{{{ATOM}}}link", href=link)
        ET.SubElement(item, f"{{{ATOM}}}published").text = _iso(entry.created_at)
        ET.SubElement(item, f"{{{ATOM}}}updated").text = _iso(entry.updated_at)
        ET.SubElement(item, f"{{{ATOM}}}content", type="text").text = entry.body
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, mimetype="application/atom+xml")
