"""Voice (つぶやき): short posts on the visibility ladder, with replies and likes."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, fn

from ..db import BaseModel, database, utcnow
from .friends import FriendGroup
from .users import User
from .visibility import FRIENDS, OnTheLadder

VOICE_MAX = 150


class Voice(OnTheLadder, BaseModel):
    """A short post; a reply points to the voice it answers."""

    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    body = CharField(max_length=VOICE_MAX * 4)  # characters are counted by the form
    visibility = CharField(max_length=10, default=FRIENDS)
    group = ForeignKeyField(FriendGroup, null=True, backref="+", on_delete="SET NULL")
    reply_to = ForeignKeyField("self", null=True, backref="replies", on_delete="CASCADE")
    reply_count = IntegerField(default=0)
    like_count = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("owner", "id"), False), (("reply_to", "id"), False))


class VoiceMute(BaseModel):
    """``user`` hides ``muted``'s voices from their timeline (the other side is not told)."""

    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    muted = ForeignKeyField(User, backref="+", on_delete="CASCADE")

    class Meta:
        indexes = ((("user", "muted"), True),)


def post_voice(owner, body, visibility, group_id=None, reply_to=None):
    """Post a voice (or a reply, counted on its parent in the same transaction)."""
    with database.atomic():
        voice = Voice.create(owner=owner.id, body=body, visibility=visibility, group=group_id,
                             reply_to=reply_to.id if reply_to else None, created_at=utcnow())
        if reply_to is not None:
            _recount_replies(reply_to.id)
    return voice


def delete_voice(voice):
    """Delete a voice (its replies go with it) and fix the parent's count."""
    with database.atomic():
        Voice.delete().where(Voice.id == voice.id).execute()
        if voice.reply_to_id:
            _recount_replies(voice.reply_to_id)


def _recount_replies(voice_id):
    count = Voice.select(fn.COUNT(Voice.id)).where(Voice.reply_to == voice_id)
    Voice.update(reply_count=count).where(Voice.id == voice_id).execute()
