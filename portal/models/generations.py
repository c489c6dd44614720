"""Page generations: counters moved by every write (portal/db.py ``WriteTracking``) and read
by the page cache (portal/pagecache.py). Scope 0 is the whole site; a user id is what only
that member sees (their footprints, their seen markers)."""
from peewee import BigIntegerField, IntegerField

from ..db import BaseModel

SITE = 0


class PageGeneration(BaseModel):
    """How many times the rows behind a scope's pages have changed."""

    scope = IntegerField(primary_key=True)
    n = BigIntegerField(default=0)

    @classmethod
    def column(cls, scope):
        """A subquery for one scope's counter (NULL while it never moved), to read the
        counters in the same statement as something else."""
        return cls.select(cls.n).where(cls.scope == scope)
