"""Likes (イイネ) on anything registered as likeable, the likers lists, and likes received."""
from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import privacy
from ..db import prepared_count
from ..models import User
from ..models.likes import LIKEABLE, Like, likers, set_like
from ..notices import Notice, provider
from ..web.pagination import Page
from ..web.rendering import render
from .util import ActionForm, safe_next

bp = Blueprint("likes", __name__)


def visible_item(kind, object_id):
    """The likeable item, or 404 when it does not exist or the viewer may not see it."""
    spec = LIKEABLE.get(kind) or abort(404)
    item = spec.model.get_or_none(spec.model.id == object_id)
    if item is None or not spec.can_see(current_user, item):
        abort(404)
    return spec, item


@bp.route("/like/<kind>/<int:object_id>", methods=["POST"])
@login_required
def like(kind, object_id):
    """Like, or with ``undo=1`` unlike, an item the viewer may see."""
    if not ActionForm().validate_on_submit():
        abort(400)
    spec, item = visible_item(kind, object_id)
    undo = request.form.get("undo") == "1"
    set_like(kind, item, current_user, liked=not undo)
    endpoint, args = spec.url(item)
    return redirect(safe_next() if request.values.get("next") else url_for(endpoint, **args))


@bp.route("/likes/<kind>/<int:object_id>")
def who_liked(kind, object_id):
    """Who likes an item: shown to whoever may see the item, without blocked or suspended users."""
    spec, item = visible_item(kind, object_id)
    page = Page(likers(kind, object_id).where(privacy.visible_users(current_user)))
    endpoint, args = spec.url(item)
    return render("likes/likers.html", page=page, item_url=url_for(endpoint, **args))


@bp.route("/likes/received")
@login_required
def received():
    """Likes on my things, newest first; viewing marks them seen."""
    query = (Like.select(Like, User).join(User, on=(Like.user == User.id))
             .where((Like.owner == current_user.id) & (Like.user != current_user.id)
                    & privacy.visible_users(current_user))
             .order_by(Like.id.desc()))
    page = Page(query)
    if page.number == 1:
        User.mark_seen(current_user.id, User.likes_seen_at)
    links = {}
    for row in page.items:
        spec = LIKEABLE.get(row.kind)
        if spec is not None:
            endpoint, args = spec.url(spec.model(id=row.object_id))
            links[row.id] = url_for(endpoint, **args)
    return render("likes/received.html", page=page, links=links)


@provider(order=40)
def like_notices(user):
    """'N new likes' since the last look at the likes received."""
    def build(user, seen=None):
        query = (Like.select().join(User, on=(Like.user == User.id))
                 .where((Like.owner == user.id) & (Like.user != user.id) & privacy.visible_users(user)))
        return query if seen is None else query.where(Like.created_at > seen)
    seen = {"seen": user.likes_seen_at} if user.likes_seen_at is not None else {}
    count = prepared_count(("like_notices", bool(seen)), build, user=user, **seen)
    return [Notice(_("%(count)d new likes", count=count), "likes.received")] if count else []
