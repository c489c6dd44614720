"""Models, one module per domain. ``ALL_MODELS`` lists every table the app owns,
in dependency order; migrations must produce exactly this schema (a test checks)."""
from .diary import CommentWatch, DiaryComment, DiaryEntry, DiaryMonth, DiaryPhoto
from .footprints import Footprint, FootprintDeletion
from .generations import PageGeneration
from .friends import (Alias, Block, FriendGroup, FriendGroupMember, FriendRequest, Friendship,
                      Introduction)
from .likes import Like, likeable
from .logins import Login
from .photos import Album, Photo, PhotoComment
from .profiles import ProfileField
from .reports import Report, reportable
from .sessions import UrlSession
from .messages import Message
from .users import InviteCode, LoginAttempt, PasswordReset, SiteSetting, User
from .voice import Voice, VoiceMute

ALL_MODELS = [User, LoginAttempt, InviteCode, SiteSetting, ProfileField, Friendship, FriendRequest,
              FriendGroup, FriendGroupMember, Introduction, Alias, Block, Footprint,
              FootprintDeletion, Report, DiaryEntry, DiaryMonth, DiaryComment, CommentWatch, Voice,
              VoiceMute, Like, Message, PasswordReset, UrlSession, Album, Photo, PhotoComment,
              DiaryPhoto, PageGeneration, Login]

__all__ = ["ALL_MODELS", "Album", "Alias", "Block", "CommentWatch", "DiaryComment", "DiaryEntry", "DiaryMonth", "DiaryPhoto", "Footprint",
           "FootprintDeletion", "FriendGroup", "FriendGroupMember", "FriendRequest", "Friendship",
           "InviteCode", "Introduction", "Like", "Login", "LoginAttempt", "Message", "PageGeneration", "PasswordReset", "Photo", "PhotoComment", "ProfileField", "Report", "SiteSetting", "UrlSession",
           "User", "Voice", "VoiceMute"]


def media_columns():
    """The columns that hold media ids (declared as MediaIdField), as peewee fields."""
    from ..db import MediaIdField

    return [field for model in ALL_MODELS for field in model._meta.sorted_fields
            if isinstance(field, MediaIdField)]


def media_ids():
    """Every media id a row points to, sorted."""
    found = set()
    for field in media_columns():
        found.update(value for (value,) in field.model.select(field).where(field.is_null(False)).tuples())
    return sorted(found)


def _can_see(viewer, item):
    from .. import privacy

    return privacy.can_see_item(viewer, item)


def _register_kinds():
    """Likeable and reportable kinds of the areas built so far."""
    from flask_babel import lazy_gettext as _l

    likeable("diary", DiaryEntry, _can_see, lambda e: e.owner_id,
             lambda e: ("diary.entry", {"entry_id": e.id}))
    likeable("voice", Voice, _can_see, lambda v: v.owner_id,
             lambda v: ("voice.show", {"voice_id": v.id}))
    likeable("photo", Photo, _can_see, lambda p: p.owner_id, lambda p: ("photos.photo", {"photo_id": p.id}))

    def author(model, field):
        def find(object_id):
            row = model.select(field).where(model.id == object_id).first()
            return getattr(row, field.name + "_id", None) if row else None
        return find

    def deleter(model, kind=None):
        def delete(object_id):
            if kind:
                Like.delete().where((Like.kind == kind) & (Like.object_id == object_id)).execute()
            model.delete().where(model.id == object_id).execute()
        return delete

    def visible(model, to_item=None):
        def check(viewer, object_id):
            item = model.get_or_none(model.id == object_id)
            if item is not None and to_item is not None:
                item = to_item(item)
            return item is not None and _can_see(viewer, item)
        return check

    def text(model, *fields):
        def preview(object_id):
            item = model.get_or_none(model.id == object_id)
            return "\n".join(str(getattr(item, f)) for f in fields)[:1000] if item else ""
        return preview

    reportable("diary", _l("A diary entry"), author(DiaryEntry, DiaryEntry.owner), deleter(DiaryEntry, "diary"),
               visible(DiaryEntry), text(DiaryEntry, "title", "body"))
    reportable("diary_comment", _l("A comment"), author(DiaryComment, DiaryComment.author),
               _delete_comment, visible(DiaryComment, lambda c: DiaryEntry.get_by_id(c.entry_id)),
               text(DiaryComment, "body"))
    reportable("voice", _l("A voice"), author(Voice, Voice.owner), deleter(Voice, "voice"), visible(Voice),
               text(Voice, "body"))
    reportable("photo", _l("A photo"), author(Photo, Photo.owner), _delete_photo, visible(Photo),
               text(Photo, "caption"))

    def message_sender(message_id):
        row = Message.get_or_none(Message.id == message_id)
        return row.sender_id if row else None

    def message_party(viewer, message_id):
        row = Message.get_or_none(Message.id == message_id)
        return row is not None and viewer.id == row.recipient_id and row.recipient_box != "gone"

    # Only the recipient may report a message; then (and only then) the admins may read it.
    reportable("message", _l("A message"), message_sender, None, can_report=message_party,
               preview=text(Message, "subject", "body"))


def _delete_photo(photo_id):
    from .photos import recount

    photo = Photo.get_or_none(Photo.id == photo_id)
    if photo is not None:
        Like.delete().where((Like.kind == "photo") & (Like.object_id == photo.id)).execute()
        Photo.delete().where(Photo.id == photo.id).execute()
        recount(photo.album_id)


def _delete_comment(comment_id):
    from .diary import delete_comment

    comment = DiaryComment.get_or_none(DiaryComment.id == comment_id)
    if comment is not None:
        delete_comment(comment)


_register_kinds()
