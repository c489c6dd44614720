"""People: profiles, editing one's profile, friends lists, search, people you may know."""

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from peewee import SQL, fn
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp, ValidationError

from .. import privacy
from ..db import database, prepared
from ..models import DiaryEntry, Footprint, FriendRequest, Friendship, Introduction, ProfileField, User
from ..models.friends import common_friends, friends_of
from ..models.profiles import FIELDS, SEARCHABLE
from ..models.visibility import FIELD_LEVELS, choices
from ..web.pagecache import cacheable
from ..web.pagination import Page, part_arg
from ..web.rendering import render
from .util import BaseForm, get_user_or_404, normalize_query

bp = Blueprint("people", __name__)

FIELD_VALIDATORS = {
    "birthday": [Regexp(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
                        message=_l("Write the birthday as MM-DD, for example 04-01."))],
    "birth_year": [Regexp(r"^(19|20)\d\d$", message=_l("Write the year with four digits, for example 1990."))],
}


def _profile_form_class():
    """ProfileForm: nickname, then value, visibility and searchable switch for each field."""
    attrs = {"nickname": StringField(_l("Nickname"), validators=[
        InputRequired(message=_l("Please enter a nickname.")),
        Length(max=30, message=_l("The nickname must be 1 to 30 characters."))],
        filters=[lambda v: v.strip() if v else v])}
    for name, (label, max_length, multiline) in FIELDS.items():
        field_class = TextAreaField if multiline else StringField
        attrs[f"f_{name}"] = field_class(label, validators=[
            Optional(), Length(max=max_length, message=_l("At most %(max)d characters.", max=max_length)),
            *FIELD_VALIDATORS.get(name, [])], filters=[lambda v: v.strip() if v else v])
        attrs[f"v_{name}"] = SelectField(_l("Who can see it"), choices=choices(FIELD_LEVELS))
        if name in SEARCHABLE:
            attrs[f"s_{name}"] = BooleanField(_l("Others may find me by this"))
    return type("ProfileForm", (BaseForm,), attrs)


ProfileForm = _profile_form_class()


def _nickname_is_visible(form, field):
    if not "".join(ch for ch in field.data or "" if ch.isprintable()).strip():
        raise ValidationError(_("Please enter a nickname."))


@bp.route("/u/<login_id>")
@cacheable
def profile(login_id):
    """A member's profile: what the viewer may see, friends, introductions."""
    owner = _visible_owner(login_id, Friendship.count_column(User.id), key="friend count")
    rel = privacy.relation(current_user, owner)
    viewer = current_user if current_user.is_authenticated else None
    is_self = rel == privacy.SELF
    # The page's queries are built once per shape (db.prepared): a profile is a page people open often.
    seen_by = privacy.viewer_value(viewer)
    introductions = prepared(("profile introductions", viewer is None, is_self), lambda owner, viewer=None:
                             _introductions(owner, viewer, is_self).limit(21), owner=owner, **seen_by)
    recent = prepared(("profile entries", viewer is None), lambda owner, viewer=None: DiaryEntry.visible_to(
        viewer).where(DiaryEntry.owner == owner.id).limit(3), owner=owner, **seen_by)
    context = {
        "owner": owner, "rel": rel, "is_self": is_self,
        "fields": privacy.visible_profile_fields(current_user, owner, rel),
        "field_labels": {name: spec[0] for name, spec in FIELDS.items()},
        "friend_count": owner.friend_count,
        "introductions": list(introductions),
        "common": [], "common_count": 0, "request_sent": None, "request_received": None,
        "recent_entries": list(recent),
    }
    if viewer is not None and not is_self:
        # The first few friends in common and how many there are, in one query.
        shown = current_app.config.get("COMMON_SHOWN", 5)
        common = list(prepared(("common friends", shown), lambda viewer, owner: common_friends(
            viewer, owner).select_extend(fn.COUNT(SQL("*")).over().alias("total")).limit(shown),
            viewer=viewer, owner=owner))
        context["common"], context["common_count"] = common, (common[0].total if common else 0)
        context["request_sent"], context["request_received"] = FriendRequest.pending_between(viewer.id, owner.id)
    if privacy.may_leave_footprint(viewer, owner):
        Footprint.record(owner.id, viewer.id, "profile", owner.id)
    return render("people/profile.html", **context)


def _visible_owner(login_id, *extra_columns, key=""):
    owner = get_user_or_404(login_id, *extra_columns, key=key)
    if not privacy.can_view_profile(current_user, owner):
        abort(404)
    return owner


@bp.route("/u/<login_id>/about/<name>")
def field(login_id, name):
    """One profile field on its own page, in parts on small screens."""
    owner = _visible_owner(login_id)
    visible = privacy.visible_profile_fields(current_user, owner)
    if name not in visible:
        abort(404)
    return render("people/field.html", owner=owner, name=name, label=FIELDS[name][0],
                  value=visible[name].value, part=part_arg())


@bp.route("/u/<login_id>/introductions")
def introductions(login_id):
    """All introductions of a member, paginated."""
    owner = _visible_owner(login_id)
    viewer = current_user if current_user.is_authenticated else None
    is_self = viewer is not None and viewer.id == owner.id
    query = _introductions(owner, viewer, is_self)
    return render("people/introductions.html", owner=owner, is_self=is_self,
                  page=Page(query, per_page=g.device.long_page_size), part=part_arg())


def _introductions(owner, viewer, is_self):
    """Introductions of ``owner`` that ``viewer`` may see (hidden ones only for the owner)."""
    query = (Introduction.select(Introduction, User)
             .join(User, on=(Introduction.writer == User.id))
             .where((Introduction.about == owner.id) & privacy.visible_users(viewer))
             .order_by(Introduction.updated_at.desc(), Introduction.id.desc()))  # id: a stable order on ties
    if not is_self:
        query = query.where(Introduction.hidden == False)  # noqa: E712
    return query


@bp.route("/profile/")
@login_required
def my_profile():
    """One's own profile."""
    return redirect(url_for(".profile", login_id=current_user.login_id))


@bp.route("/profile/edit", methods=["GET", "POST"])
@login_required
def edit():
    """Edit one's profile, with a visibility and a searchable switch per field."""
    fields = ProfileField.of(current_user.id)
    form = ProfileForm(data=_form_data(fields) if request.method == "GET" else None)
    form.nickname.validators = [*form.nickname.validators, _nickname_is_visible]
    if form.validate_on_submit():
        with database.atomic():
            User.update(nickname=form.nickname.data).where(User.id == current_user.id).execute()
            for name in FIELDS:
                _save_field(name, form, fields.get(name))
        flash(_("Your profile was saved."))
        return redirect(url_for(".profile", login_id=current_user.login_id))
    return render("people/edit.html", form=form, names=list(FIELDS), fields=fields,
                  labels={name: spec[0] for name, spec in FIELDS.items()},
                  searchable=SEARCHABLE, status=400 if form.is_submitted() else 200)


class FieldForm(BaseForm):
    """One profile field at a time (the mobile set edits fields one by one to stay small)."""

    value = TextAreaField()
    visibility = SelectField(_l("Who can see it"), choices=choices(FIELD_LEVELS))
    searchable = BooleanField(_l("Others may find me by this"))


@bp.route("/profile/edit/<name>", methods=["GET", "POST"])
@login_required
def edit_field(name):
    """Edit the nickname or one profile field."""
    if name != "nickname" and name not in FIELDS:
        abort(404)
    full = ProfileForm(meta={"csrf": False}, formdata=None)
    source = full.nickname if name == "nickname" else full[f"f_{name}"]
    form = FieldForm()
    form.value.label.text = source.label.text
    form.value.validators = list(source.validators)
    if name == "nickname":
        form.value.validators.append(_nickname_is_visible)
    existing = ProfileField.of(current_user.id).get(name)
    if request.method == "GET":
        form.value.data = current_user.nickname if name == "nickname" else (existing.value if existing else "")
        form.visibility.data = existing.visibility if existing else ProfileField.visibility.default
        form.searchable.data = bool(existing and existing.searchable)
    if form.validate_on_submit():
        value = (form.value.data or "").strip()
        if name == "nickname":
            User.update(nickname=value).where(User.id == current_user.id).execute()
        else:
            _store_field(name, value, form.visibility.data,
                         bool(form.searchable.data) and name in SEARCHABLE, existing)
        flash(_("Your profile was saved."))
        return redirect(url_for(".edit"))
    return render("people/edit_field.html", form=form, name=name, searchable=name in SEARCHABLE,
                  status=400 if form.is_submitted() else 200)


def _form_data(fields):
    data = {"nickname": current_user.nickname}
    for name in FIELDS:
        field = fields.get(name)
        data[f"f_{name}"] = field.value if field else ""
        data[f"v_{name}"] = field.visibility if field else ProfileField.visibility.default
        data[f"s_{name}"] = bool(field and field.searchable)
    return data


def _save_field(name, form, existing):
    searchable = bool(form[f"s_{name}"].data) if name in SEARCHABLE else False
    _store_field(name, form[f"f_{name}"].data or "", form[f"v_{name}"].data, searchable, existing)


def _store_field(name, value, visibility, searchable, existing):
    """Insert, update or (when emptied) delete one profile field of the current user."""
    if not value:
        if existing is not None:
            ProfileField.delete().where(ProfileField.id == existing.id).execute()
        return
    (ProfileField.insert(user=current_user.id, name=name, value=value, visibility=visibility,
                         searchable=searchable)
     .on_conflict(conflict_target=[ProfileField.user, ProfileField.name],
                  update={ProfileField.value: value, ProfileField.visibility: visibility,
                          ProfileField.searchable: searchable})
     .execute())


@bp.route("/u/<login_id>/friends")
def friends(login_id):
    """A member's friends, by name or by last login."""
    owner = get_user_or_404(login_id)
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not privacy.can_see_friend_list(current_user, owner):
        abort(404)
    order = "login" if request.args.get("sort") == "login" else "name"
    query = friends_of(owner.id, order).where(privacy.visible_users(current_user))
    return render("people/friends.html", owner=owner, page=Page(query), order=order,
                  is_self=owner.id == current_user.id)


@bp.route("/friends/")
@login_required
def my_friends():
    """One's own friends list."""
    return friends(current_user.login_id)


@bp.route("/people/search")
@login_required
def search():
    """Find people by nickname, login ID, or fields their owners made searchable."""
    q = normalize_query(request.args.get("q"))
    page = None
    if q:
        matching_fields = (ProfileField.select(ProfileField.user)
                           .where(ProfileField.name.in_(SEARCHABLE)
                                  & privacy.searchable_fields_filter(current_user)
                                  & ProfileField.value.contains(q)))
        query = (User.select()
                 .where((User.nickname.contains(q) | User.login_id.contains(q.lower())
                         | User.id.in_(matching_fields))
                        & privacy.visible_users(current_user) & (User.id != current_user.id))
                 .order_by(User.nickname, User.id))
        page = Page(query)
    return render("people/search.html", q=q, page=page)


def suggestions_for(user):
    """People you may know: friends of friends ranked by friends in common, without
    friends, pending requests, blocked or suspended users."""
    me = user.id
    mine, theirs = Friendship.alias("mine"), Friendship.alias("theirs")
    mutual = fn.COUNT(mine.id)
    sent = FriendRequest.select(FriendRequest.recipient).where(FriendRequest.sender == me)
    received = FriendRequest.select(FriendRequest.sender).where(FriendRequest.recipient == me)
    my_friends_ids = Friendship.select(Friendship.friend).where(Friendship.user == me)
    return (User.select(User, mutual.alias("mutual"))
            .join(theirs, on=(theirs.friend == User.id))
            .join(mine, on=(mine.friend == theirs.user))
            .where((mine.user == me) & (User.id != me) & User.id.not_in(my_friends_ids)
                   & User.id.not_in(sent) & User.id.not_in(received) & privacy.visible_users(user))
            .group_by(User.id)
            .order_by(mutual.desc(), User.id))


@bp.route("/people/suggestions")
@login_required
def suggestions():
    """People you may know."""
    return render("people/suggestions.html", page=Page(suggestions_for(current_user)))
