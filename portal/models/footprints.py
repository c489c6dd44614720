"""Footprints (足あと): who visited your pages. One row per owner and visitor, its time
updated on each visit, so recording costs one indexed upsert and repeated visits collapse."""
import datetime

from peewee import Case, CharField, DateTimeField, ForeignKeyField, IntegerField, fn

from ..db import BaseModel, private_writes, utcnow
from .users import User

COLLAPSE = datetime.timedelta(minutes=5)
# A visit to the same page within this of the recorded one writes nothing: the time shown is
# exact to the minute, and a member reading one page writes (and moves her cached pages) once.
FRESH = datetime.timedelta(seconds=30)


class Footprint(BaseModel):
    """The latest visit of ``visitor`` to one of ``owner``'s pages."""

    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    visitor = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=20)  # profile, diary, album, photo, ...
    object_id = IntegerField(default=0)
    visited_at = DateTimeField(default=utcnow)
    visits = IntegerField(default=1)  # visits counted (more than 5 minutes apart)

    class Meta:
        indexes = ((("owner", "visitor"), True), (("owner", "visited_at"), False),
                   (("visitor", "visited_at"), False))

    @classmethod
    def record(cls, owner_id, visitor_id, kind, object_id=0, now=None):
        """Record a visit: one INSERT ... ON CONFLICT DO UPDATE, no read first.

        A visit within 5 minutes of the previous one only moves the time; one to the same
        page within FRESH of it changes nothing. Only the owner and the visitor see it.
        """
        now = now or utcnow()
        counted = Case(None, [(cls.visited_at < now - COLLAPSE, cls.visits + 1)], cls.visits)
        changed = (cls.visited_at < now - FRESH) | (cls.kind != kind) | (cls.object_id != object_id)
        with private_writes(owner_id, visitor_id):
            (cls.insert(owner=owner_id, visitor=visitor_id, kind=kind, object_id=object_id,
                        visited_at=now, visits=1)
             .on_conflict(conflict_target=[cls.owner, cls.visitor],
                          update={cls.visits: counted, cls.visited_at: now, cls.kind: kind,
                                  cls.object_id: object_id}, where=changed)
             .execute())

    @classmethod
    def purge(cls, retention_days, owner=None, now=None):
        """Delete footprints older than the retention, folding their counts into the owners' totals."""
        cutoff = (now or utcnow()) - datetime.timedelta(days=retention_days)
        old = cls.select(cls.owner, fn.SUM(cls.visits).alias("n")).where(cls.visited_at < cutoff)
        if owner is not None:
            old = old.where(cls.owner == owner)
        for row in old.group_by(cls.owner):
            User.update(footprints_purged=User.footprints_purged + row.n).where(
                User.id == row.owner_id).execute()
        query = cls.delete().where(cls.visited_at < cutoff)
        if owner is not None:
            query = query.where(cls.owner == owner)
        return query.execute()

    @classmethod
    def total_visits(cls, user):
        """Every counted visit to ``user``'s pages, purged ones included."""
        current = cls.select(fn.SUM(cls.visits)).where(cls.owner == user.id).scalar() or 0
        purged = User.select(User.footprints_purged).where(User.id == user.id).scalar() or 0
        return int(current) + int(purged)


class FootprintDeletion(BaseModel):
    """A footprint a visitor removed, to enforce the monthly limit."""

    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "created_at"), False),)

    @classmethod
    def this_month(cls, user, now=None):
        """How many footprints ``user`` removed since the start of this month (UTC)."""
        now = now or utcnow()
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return cls.select().where((cls.user == user) & (cls.created_at >= start)).count()


