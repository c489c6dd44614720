"""Diary (日記): write, read, comment; a member's diary with a monthly archive; the friends' feed."""
import datetime

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import (BooleanField, MultipleFileField, SelectChoice, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import InputRequired, Length, ValidationError

from ..web.limits import limited
from .. import privacy
from ..db import database, prepared, prepared_count, prepared_first, private_writes, utcnow
from .. import media
from ..models import CommentWatch, DiaryComment, DiaryEntry, DiaryPhoto, Footprint, FriendGroup, User
from ..models.diary import (PHOTOS_MAX, BODY_MAX, COMMENT_MAX, TITLE_MAX, add_comment, archive_for, count_month, create_entry,
                            delete_comment, unseen_comments)
from ..models.likes import liked_by
from ..models.visibility import GROUP, LEVELS, choices
from ..notices import Notice, provider
from ..web.pagecache import cacheable
from ..web.pagination import KeysetPage, Page, part_arg
from ..web.textparts import editable_parts
from ..web.rendering import render
from ..media.uploads import media_error_message, pictures_stored, read_pictures, remove_files
from .util import ActionForm, BaseForm, get_user_or_404

bp = Blueprint("diary", __name__)

EDIT_FORM_BYTES = 900  # what the edit form needs beside the body on a phone


def _strip(value):
    return value.strip() if value else value


class EntryForm(BaseForm):
    title = StringField(_l("Title"), validators=[
        InputRequired(message=_l("Please enter a title.")),
        Length(max=TITLE_MAX, message=_l("At most %(max)d characters.", max=TITLE_MAX))], filters=[_strip])
    body = TextAreaField(_l("Body"), validators=[
        InputRequired(message=_l("Please write something.")),
        Length(max=BODY_MAX, message=_l("At most %(max)d characters.", max=BODY_MAX))])
    visibility = SelectField(_l("Who can see it"), choices=choices(LEVELS))
    group = SelectField(_l("Friend group"), coerce=int, validate_choice=True)
    allow_comments = BooleanField(_l("Allow comments"), default=True)
    photos = MultipleFileField(_l("Pictures (up to 3)"))
    remove_photos = SelectMultipleField(_l("Remove pictures"), coerce=int, validate_choice=False)

    def validate_group(self, field):
        if self.visibility.data == GROUP and not field.data:
            raise ValidationError(_("Choose a friend group (make one on the friends page first)."))


class CommentForm(BaseForm):
    body = TextAreaField(_l("Comment"), validators=[
        InputRequired(message=_l("Please write a comment.")),
        Length(max=COMMENT_MAX, message=_l("At most %(max)d characters.", max=COMMENT_MAX))])


def _entry_form(entry=None):
    form = EntryForm(obj=entry if request.method == "GET" else None)
    groups = FriendGroup.select().where(FriendGroup.owner == current_user.id).order_by(FriendGroup.name)
    form.group.choices = [SelectChoice(0, "-")] + [SelectChoice(grp.id, grp.name) for grp in groups]
    if request.method == "GET" and entry is not None:
        form.group.data = entry.group_id or 0
    return form


def visible_entry(entry_id):
    """(entry with owner, relation of the viewer) or 404 when the viewer may not see it."""
    entry = prepared_first("visible_entry", lambda entry_id: DiaryEntry.select(DiaryEntry, User).join(
        User, on=(DiaryEntry.owner == User.id)).where(DiaryEntry.id == entry_id), entry_id=entry_id)
    if entry is None:
        abort(404)
    rel = privacy.relation(current_user, entry.owner)
    if not privacy.can_see_item(current_user, entry, rel=rel):
        abort(404)
    return entry, rel


@bp.route("/diary/<int:entry_id>")
@cacheable
def entry(entry_id):
    """An entry: body (in parts on small screens), comments, likes, neighbours."""
    entry, rel = visible_entry(entry_id)
    viewer = current_user if current_user.is_authenticated else None
    comments = None
    if g.device.inline_comments:
        comments = Page(_comment_rows(entry, viewer), page=1, per_page=g.device.inline_comments)
    newer, older = _neighbours(entry, viewer)
    if viewer is not None:
        with private_writes(entry.owner_id, viewer.id):  # one generation bump for both
            if privacy.may_leave_footprint(viewer, entry.owner):
                Footprint.record(entry.owner_id, viewer.id, "diary", entry.id)
            CommentWatch.mark_seen(viewer.id, entry.id)
    return render("diary/entry.html", entry=entry, comments=comments, newer=newer, older=older,
                  photos=DiaryPhoto.of(entry.id),
                  liked=entry.id in liked_by("diary", [entry.id], viewer),
                  can_comment=privacy.can_comment(viewer, entry, rel=rel),
                  is_owner=rel == privacy.SELF, form=CommentForm(), part=part_arg())


def _neighbours(entry, viewer):
    """(the next newer, the next older) entry of the same owner that ``viewer`` may see."""
    def same_owner(owner_id, viewer=None):
        return DiaryEntry.visible_to(viewer).where(DiaryEntry.owner == owner_id)
    values = {"entry_id": entry.id, "owner_id": entry.owner_id, **privacy.viewer_value(viewer)}
    newer = prepared_first(("newer entry", viewer is None), lambda entry_id, **v: same_owner(**v).where(
        DiaryEntry.id > entry_id).order_by(DiaryEntry.id.asc()), **values)
    older = prepared_first(("older entry", viewer is None), lambda entry_id, **v: same_owner(**v).where(
        DiaryEntry.id < entry_id), **values)
    return newer, older


def _comment_rows(entry, viewer):
    """``fetch(limit, offset)`` of ``_comments`` for Page, its SQL built once (db.prepared)."""
    def build(entry, limit, offset, viewer=None):
        return _comments(entry, viewer).limit(limit).offset(offset)
    return lambda limit, offset: prepared(("comments", viewer is None), build, entry=entry, limit=limit,
                                          offset=offset, **privacy.viewer_value(viewer))


def _comments(entry, viewer):
    """Comments of an entry, oldest first, without blocked or suspended authors."""
    return (DiaryComment.select(DiaryComment, User).join(User, on=(DiaryComment.author == User.id))
            .where((DiaryComment.entry == entry.id) & privacy.visible_users(viewer))
            .order_by(DiaryComment.id))


@bp.route("/diary/<int:entry_id>/comments", methods=["GET", "POST"])
@limited("COMMENTS")
def comments(entry_id):
    """The comments of an entry, paginated oldest first; POST adds one."""
    entry, rel = visible_entry(entry_id)
    viewer = current_user if current_user.is_authenticated else None
    form = CommentForm()
    if request.method == "POST":
        if not privacy.can_comment(viewer, entry, rel=rel):
            abort(403)
        if form.validate_on_submit():
            add_comment(entry, viewer, form.body.data)
            flash(_("Your comment was posted."))
            return redirect(url_for(".comments", entry_id=entry.id, page=_last_page(entry, viewer)))
    page = Page(_comment_rows(entry, viewer), per_page=g.device.comment_page_size)
    return render("diary/comments.html", entry=entry, page=page, form=form,
                  can_comment=privacy.can_comment(viewer, entry, rel=rel), delete_form=ActionForm(),
                  status=400 if request.method == "POST" else 200)


def _last_page(entry, viewer):
    """The page of the comments list where the newest comment the viewer sees is."""
    count = _comments(entry, viewer).count()
    return max(1, -(-count // g.device.comment_page_size))


@bp.route("/diary/comment/<int:comment_id>")
def comment(comment_id):
    """One comment on its own page, in parts on small screens."""
    found = DiaryComment.get_or_none(DiaryComment.id == comment_id) or abort(404)
    entry, _rel = visible_entry(found.entry_id)
    author = User.select().where((User.id == found.author_id) & privacy.visible_users(current_user)).first()
    if author is None:
        abort(404)
    return render("diary/comment.html", entry=entry, comment=found, author=author, part=part_arg())


@bp.route("/diary/comments/<int:comment_id>/delete", methods=["POST"])
@login_required
def delete_comment_view(comment_id):
    """The comment's writer or the entry's owner deletes a comment."""
    if not ActionForm().validate_on_submit():
        abort(400)
    found = DiaryComment.get_or_none(DiaryComment.id == comment_id) or abort(404)
    entry = DiaryEntry.get_by_id(found.entry_id)
    if not privacy.can_delete_comment(current_user, found, entry):
        abort(403)
    delete_comment(found)
    flash(_("The comment was deleted."))
    return redirect(url_for(".comments", entry_id=entry.id))


@bp.route("/diary/new", methods=["GET", "POST"])
@limited("POSTS")
@login_required
def new():
    """Write an entry."""
    form = _entry_form()
    if form.validate_on_submit():
        images = _pictures(form, existing=0)
        if images is not None:
            with pictures_stored(images) as stored, database.atomic():
                entry = create_entry(current_user.id, **_values(form))
                _attach(entry.id, stored, start=0)
            flash(_("Your diary entry was posted."))
            return redirect(url_for(".entry", entry_id=entry.id))
    return render("diary/edit.html", form=form, entry=None, part=1, part_count=1, photos=[],
                  status=400 if form.is_submitted() else 200)


def _pictures(form, existing):
    """The uploaded pictures, checked; None (with a form error) when one is bad or too many."""
    files = [f for f in (form.photos.data or []) if f and f.filename]
    if existing + len(files) > PHOTOS_MAX:
        form.photos.errors.append(_("At most %(count)d pictures per entry.", count=PHOTOS_MAX))
        return None
    try:
        return [image for _name, image in read_pictures(files)]
    except media.MediaError as error:
        form.photos.errors.append(media_error_message(error))
        return None


def _attach(entry_id, stored, start):
    for n, (media_id, width, height) in enumerate(stored):
        DiaryPhoto.create(entry=entry_id, media_id=media_id, width=width, height=height, position=start + n)


def _values(form, last_part=True):
    body = form.body.data.replace("\r\n", "\n")
    if last_part:  # trailing blank lines (some browsers add one to multipart posts) are dropped
        body = body.rstrip()
    return {"title": form.title.data, "body": body,
            "visibility": form.visibility.data, "group": form.group.data or None,
            "allow_comments": form.allow_comments.data}


def _own_entry(entry_id):
    return DiaryEntry.get_or_none((DiaryEntry.id == entry_id)
                                  & (DiaryEntry.owner == current_user.id)) or abort(404)


@bp.route("/diary/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required
def edit(entry_id):
    """Edit one's entry. Where a page cannot carry the whole body (a phone), the body is
    edited one part at a time (``?part=N``) and put back together on save."""
    entry = _own_entry(entry_id)
    budget = max(0, g.device.text_budget - EDIT_FORM_BYTES) if g.device.text_budget else 0
    parts = editable_parts(entry.body, budget, g.device.codec) if budget else [entry.body]
    number = max(1, min(part_arg(), len(parts)))
    form = _entry_form(entry)
    if request.method == "GET":
        form.body.data = parts[number - 1]
    photos = DiaryPhoto.of(entry.id)
    form.remove_photos.choices = [SelectChoice(p.id, str(n + 1)) for n, p in enumerate(photos)]
    if form.validate_on_submit():
        values = _values(form, last_part=number == len(parts))
        values["body"] = "".join(parts[:number - 1]) + values["body"] + "".join(parts[number:])
        removed = [p for p in photos if p.id in set(form.remove_photos.data or [])]
        images = _pictures(form, existing=len(photos) - len(removed))
        if len(values["body"]) > BODY_MAX:
            form.body.errors.append(_("At most %(max)d characters.", max=BODY_MAX))
        elif images is not None:
            with pictures_stored(images) as stored, database.atomic():
                count_month(entry, -1)
                DiaryEntry.update(updated_at=utcnow(), **values).where(DiaryEntry.id == entry.id).execute()
                count_month(DiaryEntry.get_by_id(entry.id), +1)
                DiaryPhoto.delete().where(DiaryPhoto.id.in_([p.id for p in removed] or [0])).execute()
                _attach(entry.id, stored, start=len(photos))
            remove_files([p.media_id for p in removed])
            flash(_("Your diary entry was saved."))
            return redirect(url_for(".entry", entry_id=entry.id))
    return render("diary/edit.html", form=form, entry=entry, part=number, part_count=len(parts), photos=photos,
                  status=400 if form.is_submitted() else 200)


@bp.route("/diary/<int:entry_id>/delete", methods=["GET", "POST"])
@login_required
def delete(entry_id):
    """Delete one's entry (with its comments and likes) after confirmation."""
    entry = _own_entry(entry_id)
    form = ActionForm()
    if form.validate_on_submit():
        from ..models.likes import Like

        media_ids = [p.media_id for p in DiaryPhoto.of(entry.id)]
        with database.atomic():
            Like.delete().where((Like.kind == "diary") & (Like.object_id == entry.id)).execute()
            count_month(entry, -1)
            DiaryEntry.delete().where(DiaryEntry.id == entry.id).execute()
        remove_files(media_ids)
        flash(_("The diary entry was deleted."))
        return redirect(url_for(".user_diary", login_id=current_user.login_id))
    return render("diary/delete.html", entry=entry, form=form)


@bp.route("/u/<login_id>/diary")
def user_diary(login_id):
    """A member's diary, newest first, with a monthly archive."""
    owner = get_user_or_404(login_id)
    if not privacy.can_view_profile(current_user, owner):
        abort(404)
    viewer = current_user if current_user.is_authenticated else None
    visible = DiaryEntry.visible_to(viewer).where(DiaryEntry.owner == owner.id)
    month = request.args.get("month", "")
    query = visible
    if month:
        start = _month_start(month)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        query = query.where((DiaryEntry.created_at >= start) & (DiaryEntry.created_at < end))
    return render("diary/list.html", owner=owner, page=KeysetPage(query, DiaryEntry.id),
                  month=month, archive=archive_for(owner.id, viewer))


def _month_start(value):
    try:
        start = datetime.datetime.strptime(value, "%Y-%m")
    except ValueError:
        abort(400)
    if not 1900 <= start.year <= 9000:  # the month after must exist too
        abort(400)
    return start


@bp.route("/diary/")
@cacheable
@login_required
def feed():
    """The friends' diary feed: entries of friends the viewer may see, newest first."""
    query = DiaryEntry.visible_to(current_user).where(
        privacy.friends_feed_filter(current_user, DiaryEntry.owner))
    return render("diary/feed.html", page=KeysetPage(query, DiaryEntry.id))


def friends_latest(user, limit):
    """The newest entries of ``user``'s friends (for the home page; its SQL built once)."""
    return list(prepared(("friends_latest", limit), lambda viewer: DiaryEntry.visible_to(viewer).where(
        privacy.friends_feed_filter(viewer, DiaryEntry.owner)).limit(limit), viewer=user))


def _unseen_visible(viewer):
    """Comments ``viewer`` has not seen on entries she follows, by authors she may see."""
    return unseen_comments(viewer).join(User, on=(DiaryComment.author == User.id)).where(
        privacy.visible_users(viewer))


@provider(order=30)
def comment_notices(user):
    """'N new comments' on entries the user wrote or commented on."""
    count = prepared_count("comment_notices", _unseen_visible, viewer=user)
    if not count:
        return []
    return [Notice(_("%(count)d new comments", count=count), "diary.commented")]


@bp.route("/diary/commented")
@login_required
def commented():
    """Entries with comments I have not seen: mine, and those I commented on."""
    # Every such entry (the list pages), found in SQL: not only those of the first few comments.
    entry_ids = _unseen_visible(current_user).select(DiaryComment.entry)
    query = DiaryEntry.visible_to(current_user).where(DiaryEntry.id.in_(entry_ids))
    return render("diary/commented.html", page=Page(query))
