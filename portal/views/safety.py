"""Blocking people and reporting users or content to the admins."""
from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

from .. import privacy
from ..models import Block, Report, User
from ..models.reports import REPORTABLE
from ..web.pagination import Page
from ..web.rendering import render
from .util import ActionForm, BaseForm, get_user_or_404

bp = Blueprint("safety", __name__)


class ReportForm(BaseForm):
    reason = TextAreaField(_l("What is wrong?"), validators=[
        InputRequired(message=_l("Please say what is wrong.")),
        Length(max=1000, message=_l("At most %(max)d characters.", max=1000))],
        filters=[lambda v: v.strip() if v else v])


@bp.route("/u/<login_id>/block", methods=["GET", "POST"])
@login_required
def block(login_id):
    """Block someone: no more profile, content, messages, comments, requests or footprints
    between you, and any friendship ends."""
    other = get_user_or_404(login_id)
    if other.id == current_user.id:
        abort(400)
    form = ActionForm()
    if form.validate_on_submit():
        Block.add(current_user.id, other.id)
        flash(_("You blocked %(name)s.", name=other.nickname))
        return redirect(url_for(".blocked"))
    return render("safety/block.html", other=other, form=form)


@bp.route("/u/<login_id>/unblock", methods=["POST"])
@login_required
def unblock(login_id):
    """Lift a block."""
    if not ActionForm().validate_on_submit():
        abort(400)
    other = User.by_login_id(login_id) or abort(404)
    Block.delete().where((Block.blocker == current_user.id) & (Block.blocked == other.id)).execute()
    flash(_("You unblocked %(name)s.", name=other.nickname))
    return redirect(url_for(".blocked"))


@bp.route("/settings/blocked")
@login_required
def blocked():
    """The people I blocked."""
    query = (User.select().join(Block, on=(Block.blocked == User.id))
             .where(Block.blocker == current_user.id).order_by(Block.created_at.desc(), Block.id.desc()))
    return render("safety/blocked.html", page=Page(query), form=ActionForm())


@bp.route("/report/<kind>/<int:object_id>", methods=["GET", "POST"])
@login_required
def report(kind, object_id):
    """Report a member or a content item to the admins."""
    spec = REPORTABLE.get(kind) or abort(404)
    author_id = spec.author_of(object_id)
    if author_id is None or author_id == current_user.id:
        abort(404)
    allowed = (spec.can_report(current_user, object_id) if spec.can_report is not None
               else not privacy.is_blocked(current_user, author_id))
    if not allowed:
        abort(404)
    form = ReportForm()
    if form.validate_on_submit():
        Report.create(reporter=current_user.id, target_user=author_id, kind=kind,
                      object_id=object_id, reason=form.reason.data)
        flash(_("Thank you. The admins will look at your report."))
        return redirect(url_for("home.index"))
    return render("safety/report.html", form=form, kind_label=spec.label,
                  status=400 if form.is_submitted() else 200)
