"""Footprints (足あと): who visited me, where I left footprints, and the privacy switches."""
from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import BooleanField

from .. import privacy
from ..db import database, prepared_count
from ..models import Footprint, FootprintDeletion, User
from ..notices import Notice, provider
from ..web.pagination import Page
from ..web.rendering import render
from .util import ActionForm, BaseForm, site_setting

bp = Blueprint("footprints", __name__, url_prefix="/footprints")


class PrivacyForm(BaseForm):
    leave_footprints = BooleanField(_l("Leave footprints when I visit someone"))
    show_visitors = BooleanField(_l("Show me who visited my pages"))


def visitors_of(user, viewer):
    """Footprints on ``user``'s pages, newest first, without blocked or suspended visitors."""
    return (Footprint.select(Footprint, User)
            .join(User, on=(Footprint.visitor == User.id))
            .where((Footprint.owner == user.id) & privacy.visible_users(viewer))
            .order_by(Footprint.visited_at.desc(), Footprint.id.desc()))


@bp.route("/")
@login_required
def index():
    """My visitors. Stealth users and those who hid their visitors see an explanation instead."""
    allowed = privacy.can_see_own_visitors(current_user)
    page = None
    if allowed:
        Footprint.purge(site_setting("FOOTPRINT_RETENTION_DAYS"), owner=current_user.id)
        page = Page(visitors_of(current_user, current_user))
        if page.number == 1:
            User.mark_seen(current_user.id, User.footprints_seen_at)
    return render("footprints/index.html", page=page, allowed=allowed,
                  total=Footprint.total_visits(current_user),
                  retention=site_setting("FOOTPRINT_RETENTION_DAYS"))


@bp.route("/left")
@login_required
def left():
    """The footprints I left on others' pages, which I may remove (a few a month)."""
    query = (Footprint.select(Footprint, User).join(User, on=(Footprint.owner == User.id))
             .where((Footprint.visitor == current_user.id) & privacy.visible_users(current_user))
             .order_by(Footprint.visited_at.desc(), Footprint.id.desc()))
    limit = site_setting("FOOTPRINT_DELETIONS_PER_MONTH")
    used = FootprintDeletion.this_month(current_user.id)
    return render("footprints/left.html", page=Page(query), form=ActionForm(),
                  remaining=max(0, limit - used), limit=limit)


@bp.route("/<int:footprint_id>/delete", methods=["POST"])
@login_required
def delete(footprint_id):
    """Remove a footprint I left, within the monthly limit."""
    if not ActionForm().validate_on_submit():
        abort(400)
    limit = site_setting("FOOTPRINT_DELETIONS_PER_MONTH")
    with database.atomic():
        if FootprintDeletion.this_month(current_user.id) >= limit:
            flash(_("You can remove at most %(limit)d footprints a month.", limit=limit))
            return redirect(url_for(".left"))
        deleted = Footprint.delete().where((Footprint.id == footprint_id)
                                           & (Footprint.visitor == current_user.id)).execute()
        if not deleted:
            abort(404)
        FootprintDeletion.create(user=current_user.id)
    flash(_("The footprint was removed."))
    return redirect(url_for(".left"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The footprint switches."""
    form = PrivacyForm(obj=current_user)
    if form.validate_on_submit():
        User.update(leave_footprints=form.leave_footprints.data,
                    show_visitors=form.show_visitors.data).where(User.id == current_user.id).execute()
        flash(_("Your footprint settings were saved."))
        return redirect(url_for(".settings"))
    return render("footprints/settings.html", form=form, status=400 if form.is_submitted() else 200)


@provider(order=50)
def footprint_notices(user):
    """'N new footprints' since the last look at the visitors page."""
    if not privacy.can_see_own_visitors(user):
        return []
    def build(user, seen=None):
        query = visitors_of(user, user)
        return query if seen is None else query.where(Footprint.visited_at > seen)
    seen = {"seen": user.footprints_seen_at} if user.footprints_seen_at is not None else {}
    count = prepared_count(("footprint_notices", bool(seen)), build, user=user, **seen)
    if not count:
        return []
    return [Notice(_("%(count)d new footprints", count=count), "footprints.index")]
