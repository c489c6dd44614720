"""Server-side sessions of handsets that may not keep cookies (see portal/sessions.py)."""
from peewee import CharField, DateTimeField, TextField

from ..db import BaseModel, private_writes, utcnow


class UrlSession(BaseModel):
    """A handset's session: its data, bound to a hash of its User-Agent."""

    token = CharField(max_length=64, primary_key=True)
    ua_hash = CharField(max_length=64)
    data = TextField(default="{}")
    updated_at = DateTimeField(default=utcnow, index=True)

    @classmethod
    def purge(cls, cutoff):
        """Forget sessions idle since before ``cutoff`` (indexed); returns how many went."""
        with private_writes():  # no page shows sessions
            return cls.delete().where(cls.updated_at < cutoff).execute()
