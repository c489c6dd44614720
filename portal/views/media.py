"""Every media URL goes through here: the viewer must be allowed to see the item the file
belongs to (an album's photo, a profile's avatar)."""
from flask import Blueprint, abort, current_app, request, send_file
from flask_login import current_user

from .. import media, privacy
from ..models import Album, DiaryEntry, DiaryPhoto, Photo, User
from ..models.visibility import PUBLIC

bp = Blueprint("media", __name__, url_prefix="/media")
YEAR = 365 * 24 * 3600


def owner_of(media_id):
    """(allowed, public) for the current viewer, or None when no item has this file: an album's
    photo, a diary entry's picture, or a profile picture."""
    photo = (Photo.select(Photo, Album).join(Album, on=(Photo.album == Album.id))
             .where(Photo.media_id == media_id).first())
    if photo is not None:
        album = photo.album
        return privacy.can_see_item(current_user, album), album.visibility == PUBLIC
    attached = (DiaryPhoto.select(DiaryPhoto, DiaryEntry).join(DiaryEntry, on=(DiaryPhoto.entry == DiaryEntry.id))
                .where(DiaryPhoto.media_id == media_id).first())
    if attached is not None:
        entry = attached.entry
        return privacy.can_see_item(current_user, entry), entry.visibility == PUBLIC
    user = User.get_or_none(User.avatar_media == media_id)
    if user is not None:
        # An avatar is shown wherever the nickname is: as public as the profile itself.
        return privacy.can_view_profile(current_user, user), True
    return None


@bp.route("/<media_id>/<name>.jpg")
def file(media_id, name):
    """A variant of a stored image (WebP instead of JPEG for PC sizes when the client takes it)."""
    if name not in media.VARIANTS or len(media_id) > 40:
        abort(404)
    found = owner_of(media_id)
    if found is None or not found[0]:
        abort(404)
    public = found[1]
    webp = name.startswith("p") and "image/webp" in request.headers.get("Accept", "")
    try:
        path = media.variant(current_app.config["MEDIA_DIR"], media_id, name, webp=webp)
    except FileNotFoundError:
        abort(404)
    response = send_file(path, mimetype=media.variant_mimetype(name, webp=webp), conditional=True,
                         etag=True, max_age=YEAR if public else 0)
    response.cache_control.public = public
    response.cache_control.private = not public
    if not public:
        response.cache_control.no_cache = True
    response.vary.add("Accept")
    return response
