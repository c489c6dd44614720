"""The admin page: users (search, suspend), registration mode, invite codes."""
from functools import wraps

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice, StringField
from wtforms.validators import Length, NumberRange, Optional

from ..config import REGISTRATION_MODES
from ..models import InviteCode, SiteSetting, User
from ..rendering import Page, render
from .auth import registration_mode

bp = Blueprint("admin", __name__, url_prefix="/admin")

MODE_LABELS = {"open": _l("Open: anyone may register"),
               "invite": _l("Invite: an invite code is needed"),
               "closed": _l("Closed: only invite links of members")}


def admin_required(view):
    """403 for everyone but logged-in admins."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.before_request
@admin_required
def _only_admins():
    """Every admin route, including ones added later, is for admins only."""


class ActionForm(FlaskForm):
    """A bare button: only the CSRF token."""


class ModeForm(FlaskForm):
    mode = RadioField(_l("Registration"), choices=[SelectChoice(m, MODE_LABELS[m]) for m in REGISTRATION_MODES])


class InviteForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=100, message=_l(
        "The note must be at most 100 characters."))])
    max_uses = IntegerField(_l("Uses (0 = unlimited)"), default=1, validators=[
        NumberRange(min=0, max=100000, message=_l("Enter a number from 0 to 100000."))])


@bp.route("/")
def index():
    """The admin menu and the registration mode."""
    form = ModeForm(mode=registration_mode())
    return render("admin/index.html", form=form, user_count=User.select().count())


@bp.route("/registration", methods=["POST"])
def registration():
    """Change the registration mode."""
    form = ModeForm()
    if not form.validate_on_submit():
        return render("admin/index.html", form=form, user_count=User.select().count(), status=400)
    SiteSetting.set_value("registration", form.mode.data)
    flash(_("The registration mode was changed."))
    return redirect(url_for(".index"))


@bp.route("/users")
def users():
    """Users, searchable by login ID or nickname."""
    q = request.args.get("q", "")[:50]
    page = Page(User.search(q))
    return render("admin/users.html", page=page, q=q, form=ActionForm())


@bp.route("/users/<int:user_id>/suspend", methods=["POST"])
def suspend(user_id):
    """Suspend or (with ``undo``) reinstate a user."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    user = User.get_or_none(User.id == user_id) or abort(404)
    if user.id == current_user.id:
        flash(_("You cannot suspend yourself."))
        return redirect(url_for(".users"))
    undo = request.form.get("undo") == "1"
    user.is_suspended = not undo
    user.save()
    flash(_("%(name)s was reinstated.", name=user.login_id) if undo
          else _("%(name)s was suspended.", name=user.login_id))
    return redirect(url_for(".users", q=request.form.get("q", "")))


@bp.route("/invites", methods=["GET", "POST"])
def invites():
    """Invite codes: create and list."""
    form = InviteForm()
    if form.validate_on_submit():
        invite = InviteCode.create(note=form.note.data or "", max_uses=form.max_uses.data,
                                   created_by=current_user.id)
        flash(_("Invite code %(code)s was created.", code=invite.code))
        return redirect(url_for(".invites"))
    page = Page(InviteCode.select().order_by(InviteCode.id.desc()))
    return render("admin/invites.html", form=form, page=page, revoke_form=ActionForm(),
                  status=400 if form.is_submitted() else 200)


@bp.route("/invites/<int:invite_id>/revoke", methods=["POST"])
def revoke_invite(invite_id):
    """Revoke an invite code."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    updated = InviteCode.update(revoked=True).where(InviteCode.id == invite_id).execute()
    if not updated:
        abort(404)
    flash(_("The invite code was revoked."))
    return redirect(url_for(".invites"))
