"""Members' invite links: registering through one makes inviter and invitee friends."""
from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..db import prepared_count
from ..models import InviteCode, User
from ..notices import Notice, provider
from ..web.pagination import Page
from ..web.rendering import render
from .util import ActionForm, site_setting

bp = Blueprint("invites", __name__, url_prefix="/invites")


def _mine():
    return InviteCode.select().where(InviteCode.created_by == current_user.id)


@bp.route("/")
@login_required
def index():
    """My invite links and who joined through them."""
    quota = site_setting("INVITE_QUOTA")
    links = list(_mine().order_by(InviteCode.id.desc()))
    User.mark_seen(current_user.id, User.invitees_seen_at)
    invitees = Page(User.select().where((User.invited_by == current_user.id)
                                        & (User.is_suspended == False))  # noqa: E712
                    .order_by(User.created_at.desc(), User.id.desc()))
    return render("invites/index.html", links=links, invitees=invitees, quota=quota,
                  can_create=quota == 0 or len(links) < quota, form=ActionForm())


@bp.route("/new", methods=["POST"])
@login_required
def create():
    """Make a new invite link (within the site's quota)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    quota = site_setting("INVITE_QUOTA")
    if quota and _mine().count() >= quota:
        flash(_("You have used all %(quota)d of your invite links.", quota=quota))
    else:
        InviteCode.create(created_by=current_user.id, max_uses=1)
        flash(_("A new invite link was made. Send it to a friend."))
    return redirect(url_for(".index"))


@bp.route("/<int:invite_id>/revoke", methods=["POST"])
@login_required
def revoke(invite_id):
    """Revoke one of my unused links."""
    if not ActionForm().validate_on_submit():
        abort(400)
    updated = InviteCode.update(revoked=True).where(
        (InviteCode.id == invite_id) & (InviteCode.created_by == current_user.id)).execute()
    if not updated:
        abort(404)
    flash(_("The invite link was revoked."))
    return redirect(url_for(".index"))


@provider(order=60)
def invitee_notices(user):
    """'N friends joined through your invite links'."""
    def build(user, seen=None):
        query = User.select().where((User.invited_by == user.id) & (User.is_suspended == False))  # noqa: E712
        return query if seen is None else query.where(User.created_at > seen)
    seen = {"seen": user.invitees_seen_at} if user.invitees_seen_at is not None else {}
    count = prepared_count(("invitee_notices", bool(seen)), build, user=user, **seen)
    return [Notice(_("%(count)d people joined through your invite links", count=count), "invites.index")] \
        if count else []
