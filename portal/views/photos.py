"""Photo albums (フォト): albums, uploads, photo pages with comments and likes, avatars."""
from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import MultipleFileField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from ..web.limits import limited
from .. import media, privacy
from ..db import database
from ..models import Album, Footprint, FriendGroup, Photo, PhotoComment, User
from ..models.likes import Like, liked_by
from ..models.photos import CAPTION_MAX, COMMENT_MAX, DESCRIPTION_MAX, TITLE_MAX, add_photo_comment, recount
from ..models.visibility import GROUP, LEVELS, choices
from ..media.uploads import media_error_message, pictures_stored, read_pictures, remove_files, store_picture
from ..web.pagination import KeysetPage, Page, part_arg
from ..web.rendering import render
from .util import ActionForm, BaseForm, get_user_or_404

bp = Blueprint("photos", __name__)

def _strip(value):
    return value.strip() if value else value


class AlbumForm(BaseForm):
    title = StringField(_l("Title"), validators=[
        InputRequired(message=_l("Please enter a title.")),
        Length(max=TITLE_MAX, message=_l("At most %(max)d characters.", max=TITLE_MAX))], filters=[_strip])
    description = TextAreaField(_l("Description"), validators=[
        Length(max=DESCRIPTION_MAX, message=_l("At most %(max)d characters.", max=DESCRIPTION_MAX))])
    visibility = SelectField(_l("Who can see it"), choices=choices(LEVELS), default="friends")
    group = SelectField(_l("Friend group"), coerce=int, validate_choice=True)

    def validate_group(self, field):
        if self.visibility.data == GROUP and not field.data:
            raise ValidationError(_("Choose a friend group (make one on the friends page first)."))


class UploadForm(BaseForm):
    files = MultipleFileField(_l("Pictures"))
    caption = StringField(_l("Caption"), validators=[
        Length(max=CAPTION_MAX, message=_l("At most %(max)d characters.", max=CAPTION_MAX))], filters=[_strip])


class PhotoForm(BaseForm):
    caption = StringField(_l("Caption"), validators=[
        Length(max=CAPTION_MAX, message=_l("At most %(max)d characters.", max=CAPTION_MAX))], filters=[_strip])
    album = SelectField(_l("Album"), coerce=int, validate_choice=True)


class CommentForm(BaseForm):
    body = TextAreaField(_l("Comment"), validators=[
        InputRequired(message=_l("Please write a comment.")),
        Length(max=COMMENT_MAX, message=_l("At most %(max)d characters.", max=COMMENT_MAX))])


def _group_choices(form):
    groups = FriendGroup.select().where(FriendGroup.owner == current_user.id).order_by(FriendGroup.name)
    form.group.choices = [SelectChoice(0, "-")] + [SelectChoice(grp.id, grp.name) for grp in groups]


def visible_album(album_id):
    album = (Album.select(Album, User).join(User, on=(Album.owner == User.id))
             .where(Album.id == album_id).first())
    if album is None or not privacy.can_see_item(current_user, album):
        abort(404)
    return album


def own_album(album_id):
    return Album.get_or_none((Album.id == album_id) & (Album.owner == current_user.id)) or abort(404)


@bp.route("/photos/")
@login_required
def my_albums():
    """My albums."""
    return redirect(url_for(".albums", login_id=current_user.login_id))


@bp.route("/u/<login_id>/albums")
def albums(login_id):
    """A member's albums that the viewer may see."""
    owner = get_user_or_404(login_id)
    if not privacy.can_view_profile(current_user, owner):
        abort(404)
    viewer = current_user if current_user.is_authenticated else None
    query = Album.visible_to(viewer).where(Album.owner == owner.id)
    return render("photos/albums.html", owner=owner, page=KeysetPage(query, Album.id))


@bp.route("/albums/new", methods=["GET", "POST"])
@login_required
def new_album():
    """Make an album."""
    form = AlbumForm()
    _group_choices(form)
    if form.validate_on_submit():
        album = Album.create(owner=current_user.id, title=form.title.data, description=form.description.data or "",
                             visibility=form.visibility.data, group=form.group.data or None)
        flash(_("The album was made. Add pictures to it."))
        return redirect(url_for(".upload", album_id=album.id))
    return render("photos/album_form.html", form=form, album=None, status=400 if form.is_submitted() else 200)


@bp.route("/albums/<int:album_id>/edit", methods=["GET", "POST"])
@login_required
def edit_album(album_id):
    album = own_album(album_id)
    form = AlbumForm(obj=album if request.method == "GET" else None)
    _group_choices(form)
    if request.method == "GET":
        form.group.data = album.group_id or 0
    if form.validate_on_submit():
        Album.update(title=form.title.data, description=form.description.data or "",
                     visibility=form.visibility.data, group=form.group.data or None).where(
            Album.id == album.id).execute()
        flash(_("The album was saved."))
        return redirect(url_for(".album", album_id=album.id))
    return render("photos/album_form.html", form=form, album=album, status=400 if form.is_submitted() else 200)


@bp.route("/albums/<int:album_id>/delete", methods=["GET", "POST"])
@login_required
def delete_album(album_id):
    """Delete an album with its photos (and their files)."""
    album = own_album(album_id)
    form = ActionForm()
    if form.validate_on_submit():
        media_ids = [p.media_id for p in Photo.select(Photo.media_id).where(Photo.album == album.id)]
        with database.atomic():
            photo_ids = Photo.select(Photo.id).where(Photo.album == album.id)
            Like.delete().where((Like.kind == "photo") & Like.object_id.in_(photo_ids)).execute()
            Album.delete().where(Album.id == album.id).execute()
        remove_files(media_ids)
        flash(_("The album was deleted."))
        return redirect(url_for(".albums", login_id=current_user.login_id))
    return render("photos/album_delete.html", album=album, form=form)


@bp.route("/albums/<int:album_id>")
def album(album_id):
    """An album's photos, as thumbnails."""
    album = visible_album(album_id)
    page = Page(Photo.in_album(album.id), per_page=g.device.album_page_size)
    if current_user.is_authenticated and privacy.may_leave_footprint(current_user, album.owner):
        Footprint.record(album.owner_id, current_user.id, "album", album.id)
    return render("photos/album.html", album=album, page=page, part=part_arg(),
                  is_owner=current_user.is_authenticated and current_user.id == album.owner_id)


@bp.route("/albums/<int:album_id>/upload", methods=["GET", "POST"])
@limited("UPLOADS")
@login_required
def upload(album_id):
    """Add pictures to an album: several files at once; all are checked before any is stored."""
    album = own_album(album_id)
    form = UploadForm()
    if form.validate_on_submit():
        files = [f for f in (form.files.data or []) if f and f.filename]
        limit = current_app.config["MAX_FILES_PER_UPLOAD"]
        if not files:
            form.files.errors.append(_("Choose at least one picture."))
        elif len(files) > limit:
            form.files.errors.append(_("At most %(count)d pictures at a time.", count=limit))
        else:
            try:
                images = read_pictures(files)
            except media.MediaError as error:
                form.files.errors.append(media_error_message(error))
            else:
                _store_photos(album, images, form.caption.data or "")
                flash(_("%(count)d pictures were added.", count=len(images)))
                return redirect(url_for(".album", album_id=album.id))
    return render("photos/upload.html", album=album, form=form, status=400 if form.is_submitted() else 200)


def _store_photos(album, images, caption):
    start = Photo.select().where(Photo.album == album.id).count()
    with pictures_stored([image for _name, image in images]) as stored, database.atomic():
        for n, (media_id, width, height) in enumerate(stored):
            Photo.create(owner=current_user.id, album=album.id, media_id=media_id, width=width, height=height,
                         caption=caption, position=start + n)
        recount(album.id)


def visible_photo(photo_id):
    photo = (Photo.select(Photo, Album).join(Album, on=(Photo.album == Album.id))
             .where(Photo.id == photo_id).first())
    if photo is None or not privacy.can_see_item(current_user, photo.album):
        abort(404)
    return photo


@bp.route("/photos/<int:photo_id>", methods=["GET", "POST"])
@limited("COMMENTS")
def photo(photo_id):
    """One photo with its neighbours in the album, comments and likes; POST comments."""
    photo = visible_photo(photo_id)
    album = photo.album
    viewer = current_user if current_user.is_authenticated else None
    form = CommentForm()
    can_comment = viewer is not None and privacy.can_see_item(viewer, album)
    if request.method == "POST":
        if not can_comment:
            abort(403)
        if form.validate_on_submit():
            add_photo_comment(photo, viewer, form.body.data)
            flash(_("Your comment was posted."))
            return redirect(url_for(".photo", photo_id=photo.id))
    siblings = Photo.in_album(album.id)
    key = (Photo.position, Photo.id)
    before = siblings.where((Photo.position < photo.position) | ((Photo.position == photo.position)
                                                                  & (Photo.id < photo.id)))
    after = siblings.where((Photo.position > photo.position) | ((Photo.position == photo.position)
                                                                 & (Photo.id > photo.id)))
    previous = before.order_by(*(k.desc() for k in key)).first()
    following = after.first()
    owner = User.get_by_id(album.owner_id)
    comments = (PhotoComment.select(PhotoComment, User).join(User, on=(PhotoComment.author == User.id))
                .where((PhotoComment.photo == photo.id) & privacy.visible_users(viewer)).order_by(PhotoComment.id))
    if viewer is not None and privacy.may_leave_footprint(viewer, owner):
        Footprint.record(owner.id, viewer.id, "photo", photo.id)
    return render("photos/photo.html", photo=photo, album=album, owner=owner, previous=previous,
                  following=following, comments=Page(comments, per_page=g.device.comment_page_size),
                  liked=photo.id in liked_by("photo", [photo.id], viewer), form=form, can_comment=can_comment,
                  is_owner=viewer is not None and viewer.id == owner.id, action_form=ActionForm(),
                  status=400 if request.method == "POST" else 200)


@bp.route("/photos/<int:photo_id>/edit", methods=["GET", "POST"])
@login_required
def edit_photo(photo_id):
    """Change a photo's caption or move it to another of my albums."""
    photo = Photo.get_or_none((Photo.id == photo_id) & (Photo.owner == current_user.id)) or abort(404)
    form = PhotoForm(obj=photo if request.method == "GET" else None)
    mine = Album.select().where(Album.owner == current_user.id).order_by(Album.id.desc())
    form.album.choices = [SelectChoice(a.id, a.title) for a in mine]
    if request.method == "GET":
        form.album.data = photo.album_id
    if form.validate_on_submit():
        with database.atomic():
            Photo.update(caption=form.caption.data or "", album=form.album.data).where(Photo.id == photo.id).execute()
            recount(photo.album_id)
            if form.album.data != photo.album_id:
                recount(form.album.data)
        flash(_("The photo was saved."))
        return redirect(url_for(".photo", photo_id=photo.id))
    return render("photos/photo_form.html", photo=photo, form=form, status=400 if form.is_submitted() else 200)


@bp.route("/photos/<int:photo_id>/<any(delete, cover, earlier, later):action>", methods=["POST"])
@login_required
def photo_action(photo_id, action):
    """Delete a photo, make it the album cover, or move it earlier/later in the album."""
    if not ActionForm().validate_on_submit():
        abort(400)
    photo = Photo.get_or_none((Photo.id == photo_id) & (Photo.owner == current_user.id)) or abort(404)
    if action == "delete":
        with database.atomic():
            Like.delete().where((Like.kind == "photo") & (Like.object_id == photo.id)).execute()
            Photo.delete().where(Photo.id == photo.id).execute()
            recount(photo.album_id)
        remove_files([photo.media_id])
        flash(_("The photo was deleted."))
        return redirect(url_for(".album", album_id=photo.album_id))
    if action == "cover":
        Album.update(cover_media=photo.media_id).where(Album.id == photo.album_id).execute()
        flash(_("This photo is now the album cover."))
    else:
        _reorder(photo, -1 if action == "earlier" else 1)
    return redirect(url_for(".photo", photo_id=photo.id))


def _reorder(photo, step):
    """Swap a photo with its neighbour; positions are renumbered 0..n-1 first."""
    with database.atomic():
        ids = [p.id for p in Photo.in_album(photo.album_id)]
        index = ids.index(photo.id)
        other = index + step
        if 0 <= other < len(ids):
            ids[index], ids[other] = ids[other], ids[index]
        for position, pid in enumerate(ids):
            Photo.update(position=position).where(Photo.id == pid).execute()


@bp.route("/settings/avatar", methods=["GET", "POST"])
@limited("UPLOADS")
@login_required
def avatar():
    """Upload (or remove) my profile picture."""
    form = UploadForm()
    if form.validate_on_submit():
        files = [f for f in (form.files.data or []) if f and f.filename]
        old = current_user.avatar_media
        if request.form.get("remove") == "1":
            User.update(avatar_media=None).where(User.id == current_user.id).execute()
            remove_files([old] if old else [])
            flash(_("Your picture was removed."))
            return redirect(url_for(".avatar"))
        if len(files) != 1:
            form.files.errors.append(_("Choose one picture."))
        else:
            try:
                (_name, image), = read_pictures(files)
            except media.MediaError as error:
                form.files.errors.append(media_error_message(error))
            else:
                media_id = store_picture(image)
                User.update(avatar_media=media_id).where(User.id == current_user.id).execute()
                remove_files([old] if old else [])
                flash(_("Your picture was changed."))
                return redirect(url_for("people.profile", login_id=current_user.login_id))
    return render("photos/avatar.html", form=form, status=400 if form.is_submitted() else 200)
