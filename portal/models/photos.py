"""Photo albums: albums on the visibility ladder, photos (files by random media id),
comments; likes go through the shared like mechanism."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from ..db import BaseModel, MediaIdField, database, utcnow
from .friends import FriendGroup
from .users import User
from .visibility import FRIENDS, OnTheLadder

TITLE_MAX, DESCRIPTION_MAX, CAPTION_MAX, COMMENT_MAX = 100, 1000, 200, 1000


class Album(OnTheLadder, BaseModel):
    """A photo album; its photos share its visibility."""

    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    title = CharField(max_length=TITLE_MAX)
    description = TextField(default="")
    visibility = CharField(max_length=10, default=FRIENDS)
    group = ForeignKeyField(FriendGroup, null=True, backref="+", on_delete="SET NULL")
    cover_media = MediaIdField(null=True)
    photo_count = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("owner", "id"), False),)


class Photo(BaseModel):
    """A photo in an album. The file lives under the media dir by ``media_id``."""

    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    album = ForeignKeyField(Album, backref="photos", on_delete="CASCADE")
    media_id = MediaIdField(unique=True)
    width = IntegerField()
    height = IntegerField()
    caption = CharField(max_length=CAPTION_MAX * 4, default="")
    position = IntegerField(default=0)
    like_count = IntegerField(default=0)
    comment_count = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("album", "position", "id"), False),)

    # The photo's visibility is its album's (privacy.can_see_item reads these).
    @property
    def visibility(self):
        return self.album.visibility

    @property
    def group_id(self):
        return self.album.group_id

    @classmethod
    def in_album(cls, album_id):
        return cls.select().where(cls.album == album_id).order_by(cls.position, cls.id)


class PhotoComment(BaseModel):
    """A comment on a photo."""

    photo = ForeignKeyField(Photo, backref="+", on_delete="CASCADE")
    author = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    body = TextField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("photo", "id"), False),)


def recount(album_id):
    """Keep the album's photo count (and a cover) in step, inside the caller's transaction."""
    count = Photo.select(fn.COUNT(Photo.id)).where(Photo.album == album_id)
    Album.update(photo_count=count, updated_at=utcnow()).where(Album.id == album_id).execute()
    album = Album.get_by_id(album_id)
    if album.cover_media is None or not Photo.select().where(
            (Photo.album == album_id) & (Photo.media_id == album.cover_media)).exists():
        first = Photo.in_album(album_id).first()
        Album.update(cover_media=first.media_id if first else None).where(Album.id == album_id).execute()


def add_photo_comment(photo, author, body):
    with database.atomic():
        comment = PhotoComment.create(photo=photo.id, author=author.id, body=body)
        count = PhotoComment.select(fn.COUNT(PhotoComment.id)).where(PhotoComment.photo == photo.id)
        Photo.update(comment_count=count).where(Photo.id == photo.id).execute()
    return comment
