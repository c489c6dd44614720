"""Likes (イイネ): one mechanism for diary entries, voices, photos and community topics.

An area registers its kind with ``likeable``; a like is one row with a unique
(kind, object_id, user) index, and the item's ``like_count`` is recounted in the
same transaction, so it stays right under double clicks and races.
"""
from dataclasses import dataclass
from typing import Callable

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, fn

from ..db import BaseModel, database, utcnow
from .users import User


class Like(BaseModel):
    """``user`` likes item (``kind``, ``object_id``) of ``owner``."""

    kind = CharField(max_length=20)
    object_id = IntegerField()
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")  # the item's author, for notices
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("kind", "object_id", "user"), True), (("owner", "created_at"), False),
                   (("user", "created_at"), False))


@dataclass(frozen=True)
class LikeKind:
    """How to find a likeable item and whether a viewer may see it."""

    model: type
    can_see: Callable  # (viewer, item) -> bool
    owner_id: Callable  # item -> user id
    url: Callable  # item -> (endpoint, args) of its page


LIKEABLE = {}


def likeable(kind, model, can_see, owner_id, url):
    """Register a likeable kind of item."""
    LIKEABLE[kind] = LikeKind(model, can_see, owner_id, url)


def set_like(kind, item, user, liked):
    """Like (or unlike) ``item``; returns the new like count."""
    spec = LIKEABLE[kind]
    with database.atomic():
        if liked:
            (Like.insert(kind=kind, object_id=item.id, user=user.id, owner=spec.owner_id(item))
             .on_conflict_ignore().execute())
        else:
            Like.delete().where((Like.kind == kind) & (Like.object_id == item.id)
                                & (Like.user == user.id)).execute()
        count = Like.select(fn.COUNT(Like.id)).where((Like.kind == kind) & (Like.object_id == item.id))
        spec.model.update(like_count=count).where(spec.model.id == item.id).execute()
        return spec.model.select(spec.model.like_count).where(spec.model.id == item.id).scalar()


def liked_by(kind, object_ids, user):
    """The ids among ``object_ids`` that ``user`` likes (one query for a whole list)."""
    if user is None or not getattr(user, "is_authenticated", False) or not object_ids:
        return set()
    return {like.object_id for like in Like.select(Like.object_id).where(
        (Like.kind == kind) & (Like.object_id.in_(list(object_ids))) & (Like.user == user.id))}


def likers(kind, object_id):
    """Query of the users who like an item, newest like first."""
    return (User.select(User, Like.created_at.alias("liked_at"))
            .join(Like, on=(Like.user == User.id))
            .where((Like.kind == kind) & (Like.object_id == object_id))
            .order_by(Like.id.desc()))
