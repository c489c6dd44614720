"""Messages (メッセージ): one row per message with a state for each side, so deleting
removes it from your own boxes only; the row goes when both sides have emptied it."""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, TextField, fn

from ..db import BaseModel, database, utcnow
from .users import User

SUBJECT_MAX, BODY_MAX = 100, 5000
INBOX, SENT, TRASH, GONE = "inbox", "sent", "trash", "gone"


class Message(BaseModel):
    """A message from ``sender`` to ``recipient``."""

    sender = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    recipient = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    subject = CharField(max_length=SUBJECT_MAX)
    body = TextField()
    reply_to = ForeignKeyField("self", null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    read_at = DateTimeField(null=True)
    sender_box = CharField(max_length=8, default=SENT)  # sent | trash | gone
    recipient_box = CharField(max_length=8, default=INBOX)  # inbox | trash | gone

    class Meta:
        indexes = ((("recipient", "recipient_box", "id"), False), (("sender", "sender_box", "id"), False),
                   (("sender", "created_at"), False))

    def side_of(self, user_id):
        """'recipient' or 'sender' for a party to the message, else None."""
        if user_id == self.recipient_id:
            return "recipient"
        if user_id == self.sender_id:
            return "sender"
        return None

    def box_for(self, user_id):
        side = self.side_of(user_id)
        return getattr(self, f"{side}_box") if side else None


def inbox(user_id):
    return (Message.select(Message, User).join(User, on=(Message.sender == User.id))
            .where((Message.recipient == user_id) & (Message.recipient_box == INBOX)))


def sent(user_id):
    return (Message.select(Message, User).join(User, on=(Message.recipient == User.id))
            .where((Message.sender == user_id) & (Message.sender_box == SENT)))


def trash(user_id):
    return Message.select().where(((Message.recipient == user_id) & (Message.recipient_box == TRASH))
                                  | ((Message.sender == user_id) & (Message.sender_box == TRASH)))


def unread_query(user):
    """The COUNT of unread inbox messages of ``user``: an id, or a column for a subquery."""
    return (Message.select(fn.COUNT(Message.id))
            .where((Message.recipient == user) & (Message.recipient_box == INBOX) & Message.read_at.is_null()))


def unread_count(user_id):
    """Unread messages in the inbox: one indexed COUNT."""
    return unread_query(user_id).scalar()


def sent_within(user_id, seconds):
    """How many messages ``user_id`` sent in the last ``seconds``."""
    since = utcnow() - datetime.timedelta(seconds=seconds)
    return Message.select().where((Message.sender == user_id) & (Message.created_at >= since)).count()


def move(message, user_id, box):
    """Move a message in ``user_id``'s own boxes (inbox/sent <-> trash, or gone)."""
    side = message.side_of(user_id)
    if side is None:
        raise ValueError("not a party to this message")
    if box == "restore":
        box = INBOX if side == "recipient" else SENT
    field = getattr(Message, f"{side}_box")
    with database.atomic():
        Message.update({field: box}).where(Message.id == message.id).execute()
        _drop_if_gone(message.id)


def empty_trash(user_id):
    """Remove every message in ``user_id``'s trash from their boxes for good."""
    with database.atomic():
        Message.update(recipient_box=GONE).where((Message.recipient == user_id)
                                                 & (Message.recipient_box == TRASH)).execute()
        Message.update(sender_box=GONE).where((Message.sender == user_id)
                                              & (Message.sender_box == TRASH)).execute()
        Message.delete().where((Message.sender_box == GONE) & (Message.recipient_box == GONE)).execute()


def _drop_if_gone(message_id):
    Message.delete().where((Message.id == message_id) & (Message.sender_box == GONE)
                           & (Message.recipient_box == GONE)).execute()
