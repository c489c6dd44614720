"""Settings of one's own account: language, password, deleting the account."""
from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField
from wtforms.validators import DataRequired, EqualTo, InputRequired, ValidationError

from ..db import database
from ..models import Login
from ..web.pagination import Page
from ..web.rendering import render
from .util import ActionForm, BaseForm, abort_with
from .auth import check_password_strength, password_field, sign_in, sign_out

bp = Blueprint("settings", __name__, url_prefix="/settings")

LANGUAGE_CHOICES = [SelectChoice("", _l("Follow my browser")), SelectChoice("ja", "日本語"),
                    SelectChoice("en", "English")]


class LanguageForm(BaseForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES,
                           validate_choice=True)


class PasswordForm(BaseForm):
    current = PasswordField(_l("Current password"), validators=[
        InputRequired(message=_l("Please enter your current password."))])
    password = password_field(_l("New password"))
    confirm = PasswordField(_l("New password again"), validators=[
        EqualTo("password", message=_l("The two passwords do not match."))])

    def validate_current(self, field):
        if not current_user.check_password(field.data):
            raise ValidationError(_("The current password is wrong."))

    def validate_password(self, field):
        check_password_strength(self, field)


class DeleteForm(BaseForm):
    password = PasswordField(_l("Password"), validators=[
        InputRequired(message=_l("Please enter your password."))])
    confirm = BooleanField(_l("I understand that my account and everything I wrote will be deleted."),
                           validators=[DataRequired(message=_l("Please tick the box to confirm."))])

    def validate_password(self, field):
        if not current_user.check_password(field.data):
            raise ValidationError(_("The password is wrong."))


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """The settings menu, with the language choice."""
    form = LanguageForm(language=current_user.language)
    if form.validate_on_submit():
        current_user.language = form.language.data
        current_user.save()
        session.pop("lang", None)  # the saved setting now decides
        flash(_("Your language setting was saved."))
        return redirect(url_for(".index"))
    return render("settings/index.html", form=form, status=400 if form.is_submitted() else 200)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change the password; every other session of the account ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        user.set_password(form.password.data)
        with database.atomic():
            user.save()
            Login.end(user.id)
        # Every login ended, this one too (a copy of its cookie may be what worried the
        # member); log this browser in again, as it was.
        sign_in(user, remember=user.login_remembered)
        flash(_("Your password was changed. Your other sessions have been logged out."))
        return redirect(url_for(".index"))
    return render("settings/password.html", form=form,
                  status=400 if form.is_submitted() else 200)


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete():
    """Delete one's own account after confirming with the password."""
    form = DeleteForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        logout_user()
        user.delete_account()  # its logins go with it
        session.clear()
        flash(_("Your account has been deleted. Thank you for being with us."))
        return redirect(url_for("home.index"))
    return render("settings/delete.html", form=form,
                  status=400 if request.method == "POST" else 200)


@bp.route("/logins")
@login_required
def logins():
    """Where one is logged in: each browser and handset, when it was last used, and a button
    to end it (a phone left somewhere, a shared computer)."""
    return render("settings/logins.html", page=Page(Login.of(current_user.id)), current=current_user.login_row,
                  form=ActionForm())


@bp.route("/logins/<int:login_id>/end", methods=["POST"])
@login_required
def end_login(login_id):
    """End one login; ending this one is logging out."""
    if not ActionForm().validate_on_submit():
        abort(400)
    if login_id == current_user.login_row:
        sign_out()
        flash(_("You have logged out."))
        return redirect(url_for("home.index"))
    if not Login.end(current_user.id, login_id=login_id):
        abort_with(404, _("This login has already ended."))
    flash(_("That login has ended: it must log in again."))
    return redirect(url_for(".logins"))


@bp.route("/logins/end-others", methods=["POST"])
@login_required
def end_other_logins():
    """End every login but this one."""
    if not ActionForm().validate_on_submit():
        abort(400)
    count = Login.end(current_user.id, keep=current_user.login_row)
    flash(ngettext("%(num)d other login has ended.", "%(num)d other logins have ended.", count))
    return redirect(url_for(".logins"))
