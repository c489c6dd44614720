"""Accounts: register, log in, log out."""
import datetime

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from peewee import IntegrityError, fn
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional, Regexp, ValidationError

from ..web.limits import limited
from ..db import database, utcnow
from ..ops import mail
from ..models import Friendship, InviteCode, Login, LoginAttempt, PasswordReset, SiteSetting, User
from ..models.logins import HANDSET_IDLE, IDLE
from ..models.users import LOGIN_ID_PATTERN
from ..web.rendering import render
from ..web.sessions import uses_server_session
from .util import BaseForm, abort_with, client_address, redirect_next

bp = Blueprint("auth", __name__)

PASSWORD_MIN = 8


def sign_in(user, remember=False):
    """Log ``user`` in on this browser or handset: a new login (models/logins.py), then
    Flask-Login's session (and remember-me cookie) carrying its token. False (nobody logged
    in) when the account was suspended or its password changed since ``user`` was read."""
    if remember:
        lifetime = current_app.config["REMEMBER_COOKIE_DURATION"]  # as long as the cookie
        if not isinstance(lifetime, datetime.timedelta):
            lifetime = datetime.timedelta(seconds=lifetime)  # Flask-Login takes seconds too
    else:
        lifetime = HANDSET_IDLE if uses_server_session(request) else IDLE
    token = Login.start(user, request.headers.get("User-Agent", ""), lifetime, remembered=remember)
    if token is None:
        return False
    user.login_token = token
    login_user(user, remember=remember)
    return True


def sign_out():
    """End this login for good (a copy of its cookie is worth nothing after) and log out."""
    if current_user.is_authenticated:
        Login.end(current_user.id, login_id=current_user.login_row)
    logout_user()


def password_field(label):
    """A new-password field with the site's strength rules."""
    return PasswordField(label, validators=[
        InputRequired(message=_l("Please enter a password.")),
        Length(min=PASSWORD_MIN, max=200,
               message=_l("The password must be %(min)d to %(max)d characters.",
                          min=PASSWORD_MIN, max=200)),
    ])


def check_password_strength(form, field):
    """Refuse passwords that are easy to guess."""
    value = field.data or ""
    if len(set(value)) < 4 or value.isdigit():
        raise ValidationError(_("This password is too easy to guess. Mix letters, digits or symbols."))
    login_id = (getattr(form, "login_id", None) and form.login_id.data or "").lower()
    if login_id and login_id in value.lower():
        raise ValidationError(_("The password must not contain your login ID."))


class RegisterForm(BaseForm):
    login_id = StringField(_l("Login ID"), validators=[
        InputRequired(message=_l("Please enter a login ID.")),
        Regexp(LOGIN_ID_PATTERN, message=_l(
            "The login ID must be 3 to 20 characters: lowercase letters a-z, digits and _.")),
    ], filters=[lambda v: v.strip().lower() if v else v])
    nickname = StringField(_l("Nickname"), validators=[
        InputRequired(message=_l("Please enter a nickname.")),
        Length(min=1, max=30, message=_l("The nickname must be 1 to 30 characters.")),
    ], filters=[lambda v: v.strip() if v else v])
    password = password_field(_l("Password"))
    confirm = PasswordField(_l("Password again"), validators=[
        EqualTo("password", message=_l("The two passwords do not match.")),
    ])
    email = EmailField(_l("E-mail (optional)"), validators=[
        Optional(), Length(max=254), Email(message=_l("Please enter a valid e-mail address."),
                                           check_deliverability=False),
    ])
    invite = StringField(_l("Invite code"), validators=[Optional(), Length(max=64)])

    def validate_login_id(self, field):
        if User.by_login_id(field.data) is not None:
            raise ValidationError(_("This login ID is already taken."))

    def validate_password(self, field):
        check_password_strength(self, field)

    def validate_nickname(self, field):
        if not "".join(ch for ch in field.data if ch.isprintable()).strip():
            raise ValidationError(_("Please enter a nickname."))


class LoginForm(BaseForm):
    login_id = StringField(_l("Login ID"), validators=[
        InputRequired(message=_l("Please enter your login ID.")), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[
        InputRequired(message=_l("Please enter your password.")), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in"))
    next = HiddenField()


def registration_mode():
    """The registration mode in force: the admin's choice, else the configured default."""
    return SiteSetting.get_value("registration", current_app.config["REGISTRATION"])


@bp.route("/register", methods=["GET", "POST"])
@limited("REGISTRATION")
def register():
    """Sign up: open to all, or with an invite code, as the site is set."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    mode = registration_mode()
    form = RegisterForm()
    if request.method == "GET" and request.args.get("invite"):
        form.invite.data = request.args["invite"][:64]
    invite = InviteCode.usable(form.invite.data) if form.invite.data else None
    status = 200
    if form.validate_on_submit():
        if form.invite.data and invite is None:
            form.invite.errors.append(_("This invite code is not valid or has been used up."))
        elif mode != "open" and invite is None:
            form.invite.errors.append(_("An invite code is needed to register on this site."))
        else:
            user = _create_user(form, invite)
            if user is not None and sign_in(user):
                flash(_("Welcome, %(name)s! Your account is ready.", name=user.nickname))
                return redirect(url_for("home.index"))
        status = 400
    elif form.is_submitted():
        status = 400
    return render("auth/register.html", form=form, mode=mode, invite=invite, status=status)


def _create_user(form, invite):
    """Create the account (and count the invite) in one transaction; None on a race."""
    user = User(login_id=form.login_id.data, nickname=form.nickname.data,
                email=form.email.data or None, language="")
    # Hash before the transaction: it holds the database's write lock, the hash takes a while.
    user.set_password(form.password.data)
    try:
        with database.atomic():
            if invite is not None and not invite.consume():
                form.invite.errors.append(_("This invite code is not valid or has been used up."))
                return None
            inviter = invite.created_by if invite is not None else None
            if inviter is not None and inviter.is_suspended:
                inviter = None
            user.invited_by, user.last_login_at = inviter, utcnow()
            user.save()
            if inviter is not None:
                # Joining through a member's invite link connects you to them at once.
                Friendship.make(inviter.id, user.id)
            return user
    except IntegrityError:
        form.login_id.errors.append(_("This login ID is already taken."))
        return None


@bp.route("/login", methods=["GET", "POST"])
@limited("LOGIN")
def login():
    """Log in with login ID and password; throttled per account and per address."""
    if current_user.is_authenticated:
        return redirect_next()
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        config = current_app.config
        login_id = form.login_id.data.strip().lower()
        address = client_address()
        window = config["LOGIN_WINDOW_SECONDS"]
        if LoginAttempt.is_throttled(login_id, address, config["LOGIN_FAILS_PER_ACCOUNT"],
                                     config["LOGIN_FAILS_PER_ADDRESS"], window):
            abort_with(429, _("Too many failed logins. Please wait 15 minutes and try again."))
        user = User.by_login_id(login_id)
        if user is None or not user.check_password(form.password.data):
            LoginAttempt.record_failure(login_id, address, window)
            form.password.errors.append(_("The login ID or password is wrong."))
            status = 400
        elif user.is_suspended:
            form.login_id.errors.append(_("This account is suspended."))
            status = 403
        else:
            LoginAttempt.clear(login_id)
            User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
            if sign_in(user, remember=form.remember.data):
                return redirect_next()
            # The password changed (or the account was suspended) while this was checked.
            form.password.errors.append(_("The login ID or password is wrong."))
            status = 400
    elif form.is_submitted():
        status = 400
    return render("auth/login.html", form=form, status=status, mail_enabled=mail.enabled())


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out of this session."""
    sign_out()
    flash(_("You have logged out."))
    return redirect(url_for("home.index"))


class ForgotForm(BaseForm):
    email = EmailField(_l("E-mail"), validators=[
        InputRequired(message=_l("Please enter your e-mail address.")), Length(max=254),
        Email(message=_l("Please enter a valid e-mail address."), check_deliverability=False)])


class ResetForm(BaseForm):
    password = password_field(_l("New password"))
    confirm = PasswordField(_l("New password again"), validators=[
        EqualTo("password", message=_l("The two passwords do not match."))])

    def validate_password(self, field):
        check_password_strength(self, field)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limited("REGISTRATION")
def forgot():
    """Send a single-use reset link to the address of an account, if there is one.
    The answer is the same either way, so it tells nobody which addresses have accounts."""
    if not mail.enabled():
        abort_with(404, _("Password reset by e-mail is not available on this site. Ask an admin."))
    form = ForgotForm()
    if form.validate_on_submit():
        config = current_app.config
        address = client_address()
        key = "reset:" + form.email.data.lower()
        if LoginAttempt.is_throttled(key, address, config["LOGIN_FAILS_PER_ACCOUNT"],
                                     config["LOGIN_FAILS_PER_ADDRESS"], config["LOGIN_WINDOW_SECONDS"]):
            abort_with(429, _("Too many requests. Please wait 15 minutes and try again."))
        LoginAttempt.record_failure(key, address, config["LOGIN_WINDOW_SECONDS"])  # counts requests
        user = User.get_or_none((fn.LOWER(User.email) == form.email.data.lower())
                                & (User.is_suspended == False))  # noqa: E712
        if user is not None:
            token = PasswordReset.issue(user)
            with force_locale(user.language or config["DEFAULT_LANGUAGE"]):
                mail.send(user.email, _("Reset your password"),
                          _("Open this link within an hour to choose a new password:\n%(url)s\n\n"
                            "If you did not ask for this, ignore this mail.",
                            url=url_for(".reset", token=token, _external=True)))
        flash(_("If an account has this address, we have sent it a link. It works for one hour."))
        return redirect(url_for(".login"))
    return render("auth/forgot.html", form=form, status=400 if form.is_submitted() else 200)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset(token):
    """Choose a new password with a reset link (once, within the hour)."""
    found = PasswordReset.valid(token)
    if found is None:
        abort_with(404, _("This link has expired or was already used. Ask for a new one."))
    form = ResetForm()
    if form.validate_on_submit():
        user = User.get_by_id(found.user_id)
        user.set_password(form.password.data)  # hashed outside the transaction
        with database.atomic():
            if not found.use():
                abort_with(404, _("This link has expired or was already used. Ask for a new one."))
            User.update(password_hash=user.password_hash).where(User.id == user.id).execute()
            Login.end(user.id)  # whoever had the account is out
        flash(_("Your password was changed. Please log in."))
        return redirect(url_for(".login"))
    return render("auth/reset.html", form=form, token=token, status=400 if form.is_submitted() else 200)
