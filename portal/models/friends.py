"""Friends (マイミク): friendships, requests, groups, introductions, private aliases, blocks."""
from peewee import JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, TextField, fn

from ..db import BaseModel, database, prepared, utcnow
from .users import User


class Friendship(BaseModel):
    """One direction of a friendship; a friendship is always two rows (a->b and b->a),
    so "friends of X" is one indexed lookup."""

    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    friend = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "friend"), True), (("friend", "user"), False))

    @classmethod
    def exists_between(cls, a, b):
        """True when ``a`` and ``b`` are friends."""
        return cls.select().where((cls.user == a) & (cls.friend == b)).exists()

    @classmethod
    def make(cls, a, b):
        """Make ``a`` and ``b`` friends (idempotent; safe against a concurrent accept)."""
        now = utcnow()
        with database.atomic():
            (cls.insert_many([{"user": a, "friend": b, "created_at": now},
                              {"user": b, "friend": a, "created_at": now}])
             .on_conflict_ignore().execute())
            FriendRequest.delete_between(a, b)

    @classmethod
    def end(cls, a, b):
        """End the friendship of ``a`` and ``b`` quietly, with what hangs on it (group memberships)."""
        with database.atomic():
            cls.delete().where(((cls.user == a) & (cls.friend == b))
                               | ((cls.user == b) & (cls.friend == a))).execute()
            for owner, friend in ((a, b), (b, a)):
                groups = FriendGroup.select(FriendGroup.id).where(FriendGroup.owner == owner)
                (FriendGroupMember.delete()
                 .where((FriendGroupMember.group.in_(groups)) & (FriendGroupMember.friend == friend))
                 .execute())

    @classmethod
    def count_of(cls, user):
        """How many friends ``user`` has."""
        return cls.select().where(cls.user == user).count()

    @classmethod
    def count_column(cls, user_id_column, alias="friend_count"):
        """How many friends, as a column of a query over users."""
        return cls.select(fn.COUNT(cls.id)).where(cls.user == user_id_column).alias(alias)


def friends_of(user, order="name"):
    """Query of the (not suspended) friends of ``user``, by nickname or by last login."""
    query = (User.select(User, Friendship.created_at.alias("friends_since"))
             .join(Friendship, on=(Friendship.friend == User.id))
             .where((Friendship.user == user) & (User.is_suspended == False)))  # noqa: E712
    if order == "login":
        return query.order_by(User.last_login_at.desc(nulls="LAST"), User.id)
    return query.order_by(User.nickname, User.id)


def common_friends(a, b):
    """Query of the friends ``a`` and ``b`` have in common."""
    theirs = Friendship.select(Friendship.friend).where(Friendship.user == b)
    return friends_of(a).where(Friendship.friend.in_(theirs))


class FriendRequest(BaseModel):
    """A pending friend request with an optional message."""

    sender = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    recipient = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    message = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("sender", "recipient"), True), (("recipient", "created_at"), False))

    @classmethod
    def pending_between(cls, a, b):
        """The pending requests (from a to b, from b to a), each or None, in one query."""
        rows = list(prepared("requests between", lambda a, b: cls.select().where(
            ((cls.sender == a) & (cls.recipient == b)) | ((cls.sender == b) & (cls.recipient == a))), a=a, b=b))
        return (next((r for r in rows if r.sender_id == a), None),
                next((r for r in rows if r.sender_id == b), None))

    @classmethod
    def delete_between(cls, a, b):
        """Drop pending requests between ``a`` and ``b`` in either direction."""
        cls.delete().where(((cls.sender == a) & (cls.recipient == b))
                           | ((cls.sender == b) & (cls.recipient == a))).execute()

    @classmethod
    def incoming(cls, user):
        """Requests waiting for ``user``'s answer, newest first."""
        return (cls.select(cls, User).join(User, on=(cls.sender == User.id))
                .where((cls.recipient == user) & (User.is_suspended == False))  # noqa: E712
                .order_by(cls.created_at.desc(), cls.id.desc()))

    @classmethod
    def outgoing(cls, user):
        """Requests ``user`` sent that are still pending, newest first."""
        return (cls.select(cls, User).join(User, on=(cls.recipient == User.id))
                .where(cls.sender == user).order_by(cls.created_at.desc(), cls.id.desc()))


class FriendGroup(BaseModel):
    """A named group of one's friends (e.g. 仲良し), used by the ``group`` visibility level."""

    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    name = CharField(max_length=30)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("owner", "name"), True),)

    @classmethod
    def of(cls, owner):
        """The groups of ``owner`` with their member counts, by name."""
        return (cls.select(cls, fn.COUNT(FriendGroupMember.id).alias("size"))
                .join(FriendGroupMember, JOIN.LEFT_OUTER).where(cls.owner == owner)
                .group_by(cls.id).order_by(cls.name))


class FriendGroupMember(BaseModel):
    """A friend in a group."""

    group = ForeignKeyField(FriendGroup, backref="members", on_delete="CASCADE")
    friend = ForeignKeyField(User, backref="+", on_delete="CASCADE")

    class Meta:
        indexes = ((("group", "friend"), True), (("friend",), False))


class Introduction(BaseModel):
    """紹介文: a friend's introduction of a user, with a relationship line."""

    about = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    writer = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    relationship = CharField(max_length=50, default="")
    body = TextField()
    hidden = BooleanField(default=False)  # hidden by the one it is about
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("about", "writer"), True), (("writer",), False))


class Alias(BaseModel):
    """A private name and note one user keeps about another; only the owner sees it."""

    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    target = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    name = CharField(max_length=30)
    note = TextField(default="")
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("owner", "target"), True),)

    @classmethod
    def map_for(cls, owner):
        """{target id: Alias} of everything ``owner`` has named."""
        aliases = prepared("aliases", lambda owner_id: cls.select().where(cls.owner == owner_id),
                           owner_id=owner if isinstance(owner, int) else owner.id)
        return {alias.target_id: alias for alias in aliases}


class Block(BaseModel):
    """``blocker`` blocked ``blocked``: a block overrides every visibility level, both ways."""

    blocker = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    blocked = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("blocker", "blocked"), True), (("blocked", "blocker"), False))

    @classmethod
    def between(cls, a, b):
        """True when either of ``a`` and ``b`` blocked the other."""
        return cls.select().where(((cls.blocker == a) & (cls.blocked == b))
                                  | ((cls.blocker == b) & (cls.blocked == a))).exists()

    @classmethod
    def add(cls, blocker, blocked):
        """Block: ends the friendship, pending requests and introductions between the two."""
        with database.atomic():
            cls.insert(blocker=blocker, blocked=blocked).on_conflict_ignore().execute()
            Friendship.end(blocker, blocked)
            FriendRequest.delete_between(blocker, blocked)


SENT, ACCEPTED, ALREADY_FRIENDS, ALREADY_SENT, TOO_MANY = (
    "sent", "accepted", "already_friends", "already_sent", "too_many")


def request_friendship(sender, recipient, message, max_friends):
    """Send a friend request; a request to someone who already asked you accepts theirs.

    Returns one of SENT, ACCEPTED, ALREADY_FRIENDS, ALREADY_SENT, TOO_MANY.
    The caller has checked privacy.can_request_friendship.
    """
    with database.atomic():
        if Friendship.exists_between(sender.id, recipient.id):
            return ALREADY_FRIENDS
        sent, received = FriendRequest.pending_between(sender.id, recipient.id)
        if received is not None:
            if not _room_for_friend(sender, recipient, max_friends):
                return TOO_MANY
            Friendship.make(sender.id, recipient.id)
            return ACCEPTED
        if Friendship.count_of(sender.id) >= max_friends:
            return TOO_MANY
        if sent is not None:
            return ALREADY_SENT
        # A concurrent duplicate meets the unique index and is ignored.
        (FriendRequest.insert(sender=sender.id, recipient=recipient.id, message=message)
         .on_conflict_ignore().execute())
        return SENT


def _room_for_friend(a, b, max_friends):
    return Friendship.count_of(a.id) < max_friends and Friendship.count_of(b.id) < max_friends


def accept_request(request, max_friends):
    """Accept a pending request (idempotent under a double click); False when over the limit."""
    if not _room_for_friend(request.sender, request.recipient, max_friends):
        return False
    Friendship.make(request.sender_id, request.recipient_id)
    return True


def _register_reportables():
    from flask_babel import lazy_gettext as _l

    from .reports import reportable

    def intro_author(intro_id):
        intro = Introduction.get_or_none(Introduction.id == intro_id)
        return intro.writer_id if intro else None

    def delete_intro(intro_id):
        Introduction.delete().where(Introduction.id == intro_id).execute()

    def user_itself(user_id):
        return user_id if User.select().where(User.id == user_id).exists() else None

    def intro_text(intro_id):
        intro = Introduction.get_or_none(Introduction.id == intro_id)
        return intro.body if intro else ""

    def user_text(user_id):
        user = User.get_or_none(User.id == user_id)
        return f"{user.nickname} ({user.login_id})" if user else ""

    reportable("user", _l("A member"), user_itself, preview=user_text)
    reportable("introduction", _l("An introduction"), intro_author, delete_intro, preview=intro_text)


_register_reportables()
