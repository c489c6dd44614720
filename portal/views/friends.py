"""Friends (マイミク): requests, unfriending, groups, introductions and private aliases."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from peewee import IntegrityError
from wtforms import SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..web.limits import limited
from .. import privacy
from ..db import database, prepared_count, utcnow
from ..models import Alias, FriendGroup, FriendGroupMember, FriendRequest, Friendship, Introduction
from ..models import friends as friend_model
from ..models.friends import friends_of
from ..notices import Notice, provider
from ..web.pagination import Page
from ..web.rendering import render
from .util import ActionForm, BaseForm, get_user_or_404

bp = Blueprint("friends", __name__)


class RequestForm(BaseForm):
    message = TextAreaField(_l("Message (optional)"), validators=[
        Optional(), Length(max=500, message=_l("At most %(max)d characters.", max=500))])


class GroupForm(BaseForm):
    name = StringField(_l("Group name"), validators=[
        InputRequired(message=_l("Please enter a name.")),
        Length(max=30, message=_l("At most %(max)d characters.", max=30))],
        filters=[lambda v: v.strip() if v else v])


class MembersForm(GroupForm):
    members = SelectMultipleField(_l("Members"), coerce=int, validate_choice=True)


class IntroductionForm(BaseForm):
    relationship = StringField(_l("Relationship (e.g. classmate at ..., same club)"), validators=[
        Optional(), Length(max=50, message=_l("At most %(max)d characters.", max=50))],
        filters=[lambda v: v.strip() if v else v])
    body = TextAreaField(_l("Introduction"), validators=[
        InputRequired(message=_l("Please write the introduction.")),
        Length(max=1000, message=_l("At most %(max)d characters.", max=1000))],
        filters=[lambda v: v.strip() if v else v])


class AliasForm(BaseForm):
    name = StringField(_l("Private name (empty to remove)"), validators=[
        Optional(), Length(max=30, message=_l("At most %(max)d characters.", max=30))],
        filters=[lambda v: v.strip() if v else v])
    note = TextAreaField(_l("Private note"), validators=[
        Optional(), Length(max=500, message=_l("At most %(max)d characters.", max=500))])


def _checked(form):
    if not form.validate_on_submit():
        abort(400)


# --- Requests --------------------------------------------------------------------

@bp.route("/u/<login_id>/befriend", methods=["GET", "POST"])
@limited("FRIEND_REQUESTS")
@login_required
def befriend(login_id):
    """Ask someone to be friends, with an optional message."""
    other = get_user_or_404(login_id)
    if not privacy.can_request_friendship(current_user, other):
        abort(404 if privacy.is_blocked(current_user, other) else 400)
    form = RequestForm()
    if form.validate_on_submit():
        result = friend_model.request_friendship(current_user, other, form.message.data or "",
                                                 current_app.config["MAX_FRIENDS"])
        messages = {
            friend_model.SENT: _("Your friend request was sent to %(name)s.", name=other.nickname),
            friend_model.ACCEPTED: _("You and %(name)s are now friends.", name=other.nickname),
            friend_model.ALREADY_FRIENDS: _("You and %(name)s are already friends.", name=other.nickname),
            friend_model.ALREADY_SENT: _("You have already sent a request to %(name)s.", name=other.nickname),
        }
        if result == friend_model.TOO_MANY:
            form.message.errors.append(_("One of you has reached the limit of %(max)d friends.",
                                         max=current_app.config["MAX_FRIENDS"]))
        else:
            flash(messages[result])
            return redirect(url_for("people.profile", login_id=other.login_id))
    return render("friends/befriend.html", other=other, form=form,
                  status=400 if form.is_submitted() else 200)


@bp.route("/friends/requests")
@login_required
def requests():
    """Friend requests received and sent."""
    return render("friends/requests.html", incoming=Page(FriendRequest.incoming(current_user.id)),
                  outgoing=Page(FriendRequest.outgoing(current_user.id), arg="sent"), form=ActionForm())


def _own_request(request_id, as_recipient):
    field = FriendRequest.recipient if as_recipient else FriendRequest.sender
    pending = FriendRequest.get_or_none((FriendRequest.id == request_id) & (field == current_user.id))
    return pending


@bp.route("/friends/requests/<int:request_id>/<any(accept, decline, cancel):action>", methods=["POST"])
@login_required
def answer(request_id, action):
    """Accept or decline a request to you; cancel one you sent. Repeats are harmless."""
    _checked(ActionForm())
    pending = _own_request(request_id, as_recipient=action != "cancel")
    if pending is None:
        flash(_("That request is no longer pending."))
        return redirect(url_for(".requests"))
    if action == "accept":
        if friend_model.accept_request(pending, current_app.config["MAX_FRIENDS"]):
            flash(_("You and %(name)s are now friends.", name=pending.sender.nickname))
        else:
            flash(_("One of you has reached the limit of %(max)d friends.",
                    max=current_app.config["MAX_FRIENDS"]))
    else:
        FriendRequest.delete().where(FriendRequest.id == pending.id).execute()
        flash(_("The request was declined.") if action == "decline" else _("The request was cancelled."))
    return redirect(url_for(".requests"))


@bp.route("/u/<login_id>/unfriend", methods=["GET", "POST"])
@login_required
def unfriend(login_id):
    """End a friendship quietly: the other side is not told."""
    other = get_user_or_404(login_id)
    form = ActionForm()
    if form.validate_on_submit():
        Friendship.end(current_user.id, other.id)
        flash(_("%(name)s is no longer your friend.", name=other.nickname))
        return redirect(url_for("people.profile", login_id=other.login_id))
    return render("friends/unfriend.html", other=other, form=form)


# --- Groups ----------------------------------------------------------------------

@bp.route("/friends/groups", methods=["GET", "POST"])
@login_required
def groups():
    """One's friend groups; create a new one."""
    form = GroupForm()
    if form.validate_on_submit():
        try:
            with database.atomic():
                group = FriendGroup.create(owner=current_user.id, name=form.name.data)
            return redirect(url_for(".group", group_id=group.id))
        except IntegrityError:
            form.name.errors.append(_("You already have a group with this name."))
    return render("friends/groups.html", groups=list(FriendGroup.of(current_user.id)), form=form,
                  status=400 if form.is_submitted() else 200)


@bp.route("/friends/groups/<int:group_id>", methods=["GET", "POST"])
@login_required
def group(group_id):
    """Rename a group and choose its members among one's friends."""
    group = FriendGroup.get_or_none((FriendGroup.id == group_id)
                                    & (FriendGroup.owner == current_user.id)) or abort(404)
    friends = list(friends_of(current_user.id))
    members = [m.friend_id for m in FriendGroupMember.select().where(FriendGroupMember.group == group)]
    form = MembersForm(data={"name": group.name, "members": members} if request.method == "GET" else None)
    form.members.choices = [SelectChoice(f.id, f.nickname) for f in friends]
    if form.validate_on_submit():
        try:
            with database.atomic():
                FriendGroup.update(name=form.name.data).where(FriendGroup.id == group.id).execute()
                FriendGroupMember.delete().where(FriendGroupMember.group == group).execute()
                rows = [{"group": group.id, "friend": fid} for fid in set(form.members.data or [])]
                if rows:
                    FriendGroupMember.insert_many(rows).execute()
            flash(_("The group was saved."))
            return redirect(url_for(".groups"))
        except IntegrityError:
            form.name.errors.append(_("You already have a group with this name."))
    return render("friends/group.html", group=group, form=form, friends=friends,
                  delete_form=ActionForm(), status=400 if form.is_submitted() else 200)


@bp.route("/friends/groups/<int:group_id>/delete", methods=["POST"])
@login_required
def delete_group(group_id):
    """Delete a group (items shown to that group become visible to its owner only)."""
    _checked(ActionForm())
    deleted = FriendGroup.delete().where((FriendGroup.id == group_id)
                                         & (FriendGroup.owner == current_user.id)).execute()
    if not deleted:
        abort(404)
    flash(_("The group was deleted."))
    return redirect(url_for(".groups"))


# --- Introductions -------------------------------------------------------------------

@bp.route("/u/<login_id>/introduce", methods=["GET", "POST"])
@login_required
def introduce(login_id):
    """Write or edit one's introduction of a friend."""
    about = get_user_or_404(login_id)
    if not privacy.can_view_profile(current_user, about):
        abort(404)  # across a block the member is not there, as on their profile
    if not privacy.can_introduce(current_user, about):
        abort(403)
    existing = Introduction.get_or_none((Introduction.about == about.id)
                                        & (Introduction.writer == current_user.id))
    form = IntroductionForm(obj=existing if request.method == "GET" else None)
    if form.validate_on_submit():
        values = {"relationship": form.relationship.data or "", "body": form.body.data,
                  "updated_at": utcnow()}
        (Introduction.insert(about=about.id, writer=current_user.id, **values)
         .on_conflict(conflict_target=[Introduction.about, Introduction.writer],
                      update={getattr(Introduction, k): v for k, v in values.items()})
         .execute())
        flash(_("Your introduction of %(name)s was saved.", name=about.nickname))
        return redirect(url_for("people.profile", login_id=about.login_id))
    return render("friends/introduce.html", about=about, form=form, existing=existing,
                  delete_form=ActionForm(), status=400 if form.is_submitted() else 200)


@bp.route("/introductions/<int:intro_id>/<any(delete, hide, show):action>", methods=["POST"])
@login_required
def introduction_action(intro_id, action):
    """The writer or the one introduced deletes an introduction; the one introduced hides or shows it."""
    _checked(ActionForm())
    intro = Introduction.get_or_none(Introduction.id == intro_id) or abort(404)
    me = current_user.id
    if action == "delete" and me in (intro.writer_id, intro.about_id):
        Introduction.delete().where(Introduction.id == intro.id).execute()
        flash(_("The introduction was deleted."))
    elif action in ("hide", "show") and me == intro.about_id:
        Introduction.update(hidden=action == "hide").where(Introduction.id == intro.id).execute()
        flash(_("The introduction is hidden.") if action == "hide" else _("The introduction is shown."))
    else:
        abort(403)
    return redirect(url_for("people.profile", login_id=intro.about.login_id))


# --- Private aliases -------------------------------------------------------------------

@bp.route("/u/<login_id>/alias", methods=["GET", "POST"])
@login_required
def alias(login_id):
    """Give someone a private name and note that only you see."""
    target = get_user_or_404(login_id)
    if target.id == current_user.id:
        abort(404)
    existing = Alias.get_or_none((Alias.owner == current_user.id) & (Alias.target == target.id))
    form = AliasForm(obj=existing if request.method == "GET" else None)
    if form.validate_on_submit():
        if not form.name.data:
            Alias.delete().where((Alias.owner == current_user.id) & (Alias.target == target.id)).execute()
            flash(_("The private name was removed."))
        else:
            values = {"name": form.name.data, "note": form.note.data or "", "updated_at": utcnow()}
            (Alias.insert(owner=current_user.id, target=target.id, **values)
             .on_conflict(conflict_target=[Alias.owner, Alias.target],
                          update={getattr(Alias, k): v for k, v in values.items()})
             .execute())
            flash(_("The private name was saved."))
        return redirect(url_for("people.profile", login_id=target.login_id))
    return render("friends/alias.html", target=target, form=form,
                  status=400 if form.is_submitted() else 200)


@provider(order=20)
def request_notices(user):
    """'N friend requests' waiting for an answer."""
    count = prepared_count("request_notices", FriendRequest.incoming, user=user.id)
    return [Notice(_("%(count)d friend requests", count=count), "friends.requests")] if count else []
