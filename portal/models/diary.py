"""Diary (日記): entries on the visibility ladder, comments, and comment watching
(Mixi's comment history: whoever commented is told of later comments)."""
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from ..db import BaseModel, MediaIdField, database, private_writes, utcnow
from .friends import FriendGroup
from .users import User
from .visibility import FRIENDS, OnTheLadder

TITLE_MAX, BODY_MAX, COMMENT_MAX = 100, 10000, 1000


class DiaryEntry(OnTheLadder, BaseModel):
    """A diary entry. Counters are kept in the same transaction as the change."""

    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    title = CharField(max_length=TITLE_MAX)
    body = TextField()
    visibility = CharField(max_length=10, default=FRIENDS)
    group = ForeignKeyField(FriendGroup, null=True, backref="+", on_delete="SET NULL")
    allow_comments = BooleanField(default=True)
    comment_count = IntegerField(default=0)
    like_count = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("owner", "id"), False), (("owner", "created_at"), False))


class DiaryPhoto(BaseModel):
    """A picture attached to a diary entry (at most ``PHOTOS_MAX``); it shares the entry's visibility."""

    entry = ForeignKeyField(DiaryEntry, backref="+", on_delete="CASCADE")
    media_id = MediaIdField(unique=True)
    width = IntegerField()
    height = IntegerField()
    position = IntegerField(default=0)

    class Meta:
        indexes = ((("entry", "position"), False),)

    @classmethod
    def of(cls, entry_id):
        return list(cls.select().where(cls.entry == entry_id).order_by(cls.position, cls.id))


PHOTOS_MAX = 3


class DiaryMonth(BaseModel):
    """How many entries an owner wrote in a month at one visibility: the monthly archive
    reads this small table instead of grouping every entry (kept in step by ``count_month``)."""

    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    month = CharField(max_length=7)  # "YYYY-MM" of created_at (UTC)
    visibility = CharField(max_length=10)
    group = ForeignKeyField(FriendGroup, null=True, backref="+", on_delete="SET NULL")
    count = IntegerField(default=0)

    class Meta:
        indexes = ((("owner", "month", "visibility", "group"), True),)


def count_month(entry, delta):
    """Add ``delta`` to the archive count of ``entry``'s month and visibility."""
    month = entry.created_at.strftime("%Y-%m")
    group = entry.group_id if hasattr(entry, "group_id") else entry.group
    row = DiaryMonth.get_or_none((DiaryMonth.owner == entry.owner_id) & (DiaryMonth.month == month)
                                 & (DiaryMonth.visibility == entry.visibility)
                                 & (DiaryMonth.group.is_null() if group is None else DiaryMonth.group == group))
    if row is None:
        DiaryMonth.create(owner=entry.owner_id, month=month, visibility=entry.visibility, group=group,
                          count=max(0, delta))
    else:
        DiaryMonth.update(count=DiaryMonth.count + delta).where(DiaryMonth.id == row.id).execute()


def create_entry(owner_id, **values):
    """Create an entry with its archive count and the owner's comment watch."""
    with database.atomic():
        entry = DiaryEntry.create(owner=owner_id, **values)
        count_month(entry, +1)
        CommentWatch.touch(owner_id, entry.id)
    return entry


def rebuild_months():
    """Recount the monthly archive from the entries (after bulk loads or repairs)."""
    from ..db import month_of

    month = month_of(DiaryEntry.created_at)
    with database.atomic():
        DiaryMonth.delete().execute()
        rows = (DiaryEntry.select(DiaryEntry.owner, month, DiaryEntry.visibility, DiaryEntry.group,
                                  fn.COUNT(DiaryEntry.id))
                .group_by(DiaryEntry.owner, month, DiaryEntry.visibility, DiaryEntry.group))
        DiaryMonth.insert_from(rows, [DiaryMonth.owner, DiaryMonth.month, DiaryMonth.visibility,
                                      DiaryMonth.group, DiaryMonth.count]).execute()


def archive_for(owner_id, viewer):
    """[(month, count)] of ``owner_id``'s entries that ``viewer`` may see, newest month first."""
    from .. import privacy

    total = fn.SUM(DiaryMonth.count)
    return list(DiaryMonth.select(DiaryMonth.month, total)
                .where((DiaryMonth.owner == owner_id) & (DiaryMonth.count > 0)
                       & privacy.visible_filter(viewer, DiaryMonth.owner, DiaryMonth.visibility,
                                                DiaryMonth.group))
                .group_by(DiaryMonth.month).order_by(DiaryMonth.month.desc()).limit(36).tuples())


class DiaryComment(BaseModel):
    """A comment on a diary entry."""

    entry = ForeignKeyField(DiaryEntry, backref="+", on_delete="CASCADE")
    author = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    body = TextField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("entry", "id"), False), (("author",), False))


class CommentWatch(BaseModel):
    """``user`` follows the comments of ``entry`` (its owner and everyone who commented);
    ``seen_at`` is when they last looked."""

    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    entry = ForeignKeyField(DiaryEntry, backref="+", on_delete="CASCADE")
    seen_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "entry"), True), (("entry",), False))

    @classmethod
    def mark_seen(cls, user_id, entry_id, now=None):
        """``user`` read the comments of ``entry`` (if she follows it). Writes only when a
        comment came since she last looked, and only her pages change."""
        newer = DiaryComment.select(DiaryComment.id).where(
            (DiaryComment.entry == entry_id) & (DiaryComment.created_at > cls.seen_at))
        with private_writes(user_id):
            cls.update(seen_at=now or utcnow()).where(
                (cls.user == user_id) & (cls.entry == entry_id) & fn.EXISTS(newer)).execute()

    @classmethod
    def touch(cls, user_id, entry_id, now=None):
        """Follow ``entry`` and mark its comments seen (one upsert)."""
        now = now or utcnow()
        (cls.insert(user=user_id, entry=entry_id, seen_at=now)
         .on_conflict(conflict_target=[cls.user, cls.entry], update={cls.seen_at: now})
         .execute())


def add_comment(entry, author, body):
    """Add a comment, count it and follow the entry, in one transaction."""
    now = utcnow()
    with database.atomic():
        comment = DiaryComment.create(entry=entry.id, author=author.id, body=body, created_at=now)
        _recount(entry.id)
        CommentWatch.touch(author.id, entry.id, now)
    return comment


def delete_comment(comment):
    """Delete a comment and recount, in one transaction."""
    with database.atomic():
        DiaryComment.delete().where(DiaryComment.id == comment.id).execute()
        _recount(comment.entry_id)


def _recount(entry_id):
    count = DiaryComment.select(fn.COUNT(DiaryComment.id)).where(DiaryComment.entry == entry_id)
    DiaryEntry.update(comment_count=count).where(DiaryEntry.id == entry_id).execute()


def unseen_comments(user):
    """Query of comments by others on entries ``user`` follows, newer than their last look."""
    return (DiaryComment.select(DiaryComment, CommentWatch)
            .join(CommentWatch, on=(CommentWatch.entry == DiaryComment.entry))
            .where((CommentWatch.user == user.id) & (DiaryComment.author != user.id)
                   & (DiaryComment.created_at > CommentWatch.seen_at)))
