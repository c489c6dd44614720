"""Messages (メッセージ): inbox, sent box, trash, compose, reply; who may write to whom."""
from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from ..web.limits import limited
from ..ops import mail
from .. import privacy
from ..db import private_writes, utcnow
from ..models import Message, User
from ..models import messages as boxes
from ..models.messages import BODY_MAX, SUBJECT_MAX
from ..notices import Notice, provider
from ..web.pagination import KeysetPage, part_arg
from ..web.rendering import render
from .util import ActionForm, BaseForm, abort_with

bp = Blueprint("messages", __name__, url_prefix="/messages")


class ComposeForm(BaseForm):
    to = StringField(_l("To (login ID)"), validators=[
        InputRequired(message=_l("Please enter the login ID of the recipient.")), Length(max=64)],
        filters=[lambda v: v.strip().lower() if v else v])
    subject = StringField(_l("Subject"), validators=[
        InputRequired(message=_l("Please enter a subject.")),
        Length(max=SUBJECT_MAX, message=_l("At most %(max)d characters.", max=SUBJECT_MAX))],
        filters=[lambda v: v.strip() if v else v])
    body = TextAreaField(_l("Message"), validators=[
        InputRequired(message=_l("Please write a message.")),
        Length(max=BODY_MAX, message=_l("At most %(max)d characters.", max=BODY_MAX))])


class SettingsForm(BaseForm):
    message_policy = SelectField(_l("Who may send me messages"), choices=[
        SelectChoice("friends", _l("Friends only")), SelectChoice("members", _l("Any member"))])
    email_on_message = BooleanField(_l("E-mail me when a message arrives"))


@bp.route("/")
@login_required
def inbox():
    """Received messages, newest first."""
    return render("messages/box.html", box="inbox",
                  page=KeysetPage(boxes.inbox(current_user.id), Message.id), form=ActionForm())


@bp.route("/sent")
@login_required
def sent():
    """Sent messages, newest first."""
    return render("messages/box.html", box="sent",
                  page=KeysetPage(boxes.sent(current_user.id), Message.id), form=ActionForm())


@bp.route("/trash")
@login_required
def trash():
    """Messages I moved to the trash (either side), newest first."""
    page = KeysetPage(boxes.trash(current_user.id), Message.id)
    people = {u.id: u for u in User.select().where(User.id.in_(
        [m.sender_id for m in page.items] + [m.recipient_id for m in page.items] or [0]))}
    return render("messages/box.html", box="trash", page=page, people=people, form=ActionForm())


def _readable(message_id):
    message = Message.get_or_none(Message.id == message_id)
    if message is None or not privacy.can_read_message(current_user, message):
        abort(404)
    return message


@bp.route("/<int:message_id>")
@login_required
def show(message_id):
    """One message; opening it marks it read for the recipient."""
    message = _readable(message_id)
    if message.recipient_id == current_user.id and message.read_at is None:
        with private_writes(message.recipient_id, message.sender_id):  # only they see it
            Message.update(read_at=utcnow()).where(Message.id == message.id).execute()
        g.pop("unread_messages", None)  # the menu counts again, without this one
    sender, recipient = User.get_by_id(message.sender_id), User.get_by_id(message.recipient_id)
    return render("messages/show.html", message=message, sender=sender, recipient=recipient,
                  box=message.box_for(current_user.id), form=ActionForm(),
                  part=part_arg())


@bp.route("/new", methods=["GET", "POST"])
@limited("MESSAGES")
@login_required
def compose():
    """Write a message (``?to=login_id`` fills in the recipient)."""
    form = ComposeForm()
    if request.method == "GET":
        form.to.data = request.args.get("to", "")[:64]
    return _send(form, reply_to=None)


@bp.route("/<int:message_id>/reply", methods=["GET", "POST"])
@limited("MESSAGES")
@login_required
def reply(message_id):
    """Reply to a message, optionally quoting it (``?quote=1``)."""
    original = _readable(message_id)
    other = original.sender if original.recipient_id == current_user.id else original.recipient
    form = ComposeForm()
    if request.method == "GET":
        form.to.data = other.login_id
        subject = original.subject if original.subject.startswith("Re:") else f"Re: {original.subject}"
        form.subject.data = subject[:SUBJECT_MAX]
        if request.args.get("quote") == "1":
            quoted = "\n".join("> " + line for line in original.body.split("\n"))
            form.body.data = ("\n\n" + quoted)[:BODY_MAX]
    return _send(form, reply_to=original)


def _send(form, reply_to):
    if form.validate_on_submit():
        recipient = User.by_login_id(form.to.data)
        if recipient is None or recipient.is_suspended or privacy.is_blocked(current_user, recipient):
            form.to.errors.append(_("There is no member with this login ID."))
        elif not privacy.can_message(current_user, recipient):
            form.to.errors.append(_("%(name)s accepts messages from friends only.", name=recipient.nickname)
                                  if recipient.id != current_user.id else _("You cannot message yourself."))
        else:
            limit = current_app.config["MESSAGES_PER_HOUR"]
            if boxes.sent_within(current_user.id, 3600) >= limit:
                abort_with(429, _("You have sent %(limit)d messages in the last hour. Please wait a while.",
                                  limit=limit))
            message = Message.create(sender=current_user.id, recipient=recipient.id, subject=form.subject.data,
                                     body=form.body.data, reply_to=reply_to.id if reply_to else None)
            _notify_by_mail(message, recipient)
            flash(_("Your message to %(name)s was sent.", name=recipient.nickname))
            return redirect(url_for(".sent"))
    return render("messages/compose.html", form=form, reply_to=reply_to,
                  status=400 if form.is_submitted() else 200)


def _notify_by_mail(message, recipient):
    if not (recipient.email and recipient.email_on_message and mail.enabled()):
        return
    with force_locale(recipient.language or current_app.config["DEFAULT_LANGUAGE"]):
        subject = _("New message from %(name)s", name=current_user.nickname)
        body = _("%(name)s sent you a message: %(subject)s\n\nRead it here: %(url)s",
                 name=current_user.nickname, subject=message.subject,
                 url=url_for(".show", message_id=message.id, _external=True))
    mail.send(recipient.email, subject, body)


@bp.route("/<int:message_id>/<any(trash, restore, delete):action>", methods=["POST"])
@login_required
def move(message_id, action):
    """Move a message to the trash, restore it, or delete it for good (from the trash)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    message = _readable(message_id)
    if action == "delete" and message.box_for(current_user.id) != boxes.TRASH:
        abort(400)
    boxes.move(message, current_user.id, {"trash": boxes.TRASH, "restore": "restore",
                                          "delete": boxes.GONE}[action])
    flash({"trash": _("The message was moved to the trash."), "restore": _("The message was restored."),
           "delete": _("The message was deleted.")}[action])
    return redirect(url_for(".trash" if action != "trash" else ".inbox"))


@bp.route("/trash/empty", methods=["POST"])
@login_required
def empty():
    """Empty my trash (the other side keeps their copy)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    boxes.empty_trash(current_user.id)
    flash(_("The trash was emptied."))
    return redirect(url_for(".trash"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Who may message me, and e-mail notification."""
    form = SettingsForm(obj=current_user)
    if form.validate_on_submit():
        User.update(message_policy=form.message_policy.data,
                    email_on_message=form.email_on_message.data).where(User.id == current_user.id).execute()
        flash(_("Your message settings were saved."))
        return redirect(url_for(".settings"))
    return render("messages/settings.html", form=form, mail_enabled=mail.enabled(),
                  status=400 if form.is_submitted() else 200)


def unread_for_menu():
    """Unread messages of the current user, counted once per request (shown on every page)."""
    if not current_user.is_authenticated:
        return 0
    if "unread_messages" not in g:
        g.unread_messages = boxes.unread_count(current_user.id)
    return g.unread_messages


@provider(order=10)
def message_notices(user):
    """'N new messages'."""
    count = unread_for_menu() if user.id == current_user.id else boxes.unread_count(user.id)
    return [Notice(_("%(count)d new messages", count=count), "messages.inbox")] if count else []
