"""Settings of one's own account: language, password, deleting the account."""
from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField
from wtforms.validators import DataRequired, EqualTo, InputRequired, ValidationError

from ..rendering import render
from .util import BaseForm
from .auth import check_password_strength, password_field

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
        current_user.set_password(form.password.data)
        current_user.save()
        # The new session token logged everyone out; log this session back in.
        login_user(current_user._get_current_object())
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
        user.delete_account()
        session.clear()
        flash(_("Your account has been deleted. Thank you for being with us."))
        return redirect(url_for("home.index"))
    return render("settings/delete.html", form=form,
                  status=400 if request.method == "POST" else 200)
