"""The admin page: users (search, suspend), registration mode, invite codes."""
from functools import wraps

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField, RadioField, SelectChoice, StringField
from wtforms.validators import Length, NumberRange, Optional

from ..config import REGISTRATION_MODES
from ..db import database, utcnow
from ..models import InviteCode, Login, Report, SiteSetting, User
from ..models.reports import ACTED, DISMISSED, OPEN, REPORTABLE
from ..web.pagination import Page
from ..web.rendering import render
from .auth import registration_mode
from .util import SITE_SETTINGS, ActionForm, BaseForm, normalize_query, site_setting

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


class ModeForm(BaseForm):
    mode = RadioField(_l("Registration"), choices=[SelectChoice(m, MODE_LABELS[m]) for m in REGISTRATION_MODES])


class InviteForm(BaseForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=100, message=_l(
        "The note must be at most 100 characters."))])
    max_uses = IntegerField(_l("Uses (0 = unlimited)"), default=1, validators=[
        NumberRange(min=0, max=100000, message=_l("Enter a number from 0 to 100000."))])


class SiteForm(BaseForm):
    invite_quota = IntegerField(_l("Invite links per member (0 = unlimited)"), validators=[
        NumberRange(min=0, max=10000, message=_l("Enter a number from %(min)d to %(max)d.", min=0, max=10000))])
    footprint_retention_days = IntegerField(_l("Keep footprints for (days)"), validators=[
        NumberRange(min=1, max=3650, message=_l("Enter a number from %(min)d to %(max)d.", min=1, max=3650))])
    footprint_deletions_per_month = IntegerField(_l("Footprints a member may remove per month"), validators=[
        NumberRange(min=0, max=1000, message=_l("Enter a number from %(min)d to %(max)d.", min=0, max=1000))])


@bp.route("/site", methods=["GET", "POST"])
def site():
    """Site settings with defaults from the configuration."""
    form = SiteForm(data={name.lower(): site_setting(name) for name in SITE_SETTINGS})
    if form.validate_on_submit():
        with database.atomic():
            for name in SITE_SETTINGS:
                SiteSetting.set_value(name.lower(), str(form[name.lower()].data))
        flash(_("The site settings were saved."))
        return redirect(url_for(".site"))
    return render("admin/site.html", form=form, status=400 if form.is_submitted() else 200)


@bp.route("/reports")
def reports():
    """Open reports, oldest first."""
    page = Page(Report.open_reports())
    users = {u.id: u for u in User.select().where(
        User.id.in_([r.target_user_id for r in page.items] + [r.reporter_id or 0 for r in page.items]))}
    previews = {r.id: REPORTABLE[r.kind].preview(r.object_id) for r in page.items
                if r.kind in REPORTABLE and REPORTABLE[r.kind].preview}
    return render("admin/reports.html", page=page, users=users, kinds=REPORTABLE, previews=previews,
                  form=ActionForm())


@bp.route("/reports/<int:report_id>/<any(dismiss, delete, suspend):action>", methods=["POST"])
def handle_report(report_id, action):
    """Dismiss a report, delete the reported content, or suspend its author."""
    if not ActionForm().validate_on_submit():
        abort(400)
    report = Report.get_or_none((Report.id == report_id) & (Report.status == OPEN)) or abort(404)
    kind = REPORTABLE.get(report.kind)
    with database.atomic():
        if action == "delete":
            if kind is None or kind.delete is None:
                abort(400)
            kind.delete(report.object_id)
        elif action == "suspend":
            if report.target_user_id == current_user.id:
                flash(_("You cannot suspend yourself."))
                return redirect(url_for(".reports"))
            User.update(is_suspended=True).where(User.id == report.target_user_id).execute()
            Login.end(report.target_user_id)
        Report.update(status=DISMISSED if action == "dismiss" else ACTED, handled_by=current_user.id,
                      handled_at=utcnow()).where(Report.id == report.id).execute()
    flash({"dismiss": _("The report was dismissed."), "delete": _("The content was deleted."),
           "suspend": _("The member was suspended.")}[action])
    return redirect(url_for(".reports"))


@bp.route("/")
def index():
    """The admin menu and the registration mode."""
    form = ModeForm(mode=registration_mode())
    return render("admin/index.html", form=form, user_count=User.select().count(),
                  open_reports=Report.open_reports().count())


@bp.route("/registration", methods=["POST"])
def registration():
    """Change the registration mode."""
    form = ModeForm()
    if not form.validate_on_submit():
        return render("admin/index.html", form=form, user_count=User.select().count(),
                      open_reports=Report.open_reports().count(), status=400)
    SiteSetting.set_value("registration", form.mode.data)
    flash(_("The registration mode was changed."))
    return redirect(url_for(".index"))


@bp.route("/users")
def users():
    """Users, searchable by login ID or nickname."""
    q = normalize_query(request.args.get("q"))
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
    with database.atomic():
        user.save()
        if not undo:
            Login.end(user.id)
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
