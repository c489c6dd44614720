"""Reports of users and content to the admins."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from ..db import BaseModel, utcnow
from .users import User

OPEN, DISMISSED, ACTED = "open", "dismissed", "acted"


class Report(BaseModel):
    """A member's report of a user or of one content item (kind + id)."""

    reporter = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    target_user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=20)  # user, introduction, diary, comment, photo, ...
    object_id = IntegerField(default=0)
    reason = TextField()
    status = CharField(max_length=10, default=OPEN)
    created_at = DateTimeField(default=utcnow)
    handled_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    handled_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "created_at"), False),)

    @classmethod
    def open_reports(cls):
        """The reports queue, oldest first."""
        return cls.select().where(cls.status == OPEN).order_by(cls.created_at, cls.id)


class ReportKind:
    """A kind of thing that can be reported: how to find its author and how to delete it."""

    def __init__(self, name, label, author_of, delete=None, can_report=None, preview=None):
        self.name, self.label, self.author_of, self.delete = name, label, author_of, delete
        self.can_report = can_report  # (viewer, id) -> bool; default: the author is not blocked
        self.preview = preview  # id -> text shown to admins in the reports queue


REPORTABLE = {}


def reportable(name, label, author_of, delete=None, can_report=None, preview=None):
    """Register a reportable kind: ``author_of(id)`` -> user id or None, ``delete(id)``."""
    REPORTABLE[name] = ReportKind(name, label, author_of, delete, can_report, preview)
