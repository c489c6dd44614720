"""Profiles: the self-introduction and optional fields, each with its own visibility
and a "searchable" switch (off by default)."""
from flask_babel import lazy_gettext as _l
from peewee import BooleanField, CharField, ForeignKeyField, TextField

from ..db import BaseModel, prepared
from .users import User
from .visibility import MEMBERS

# name -> (label, max length, multi-line). Order is the display order.
FIELDS = {
    "intro": (_l("About me"), 2000, True),
    "real_name": (_l("Real name"), 50, False),
    "birthday": (_l("Birthday (month and day)"), 5, False),
    "birth_year": (_l("Year of birth"), 4, False),
    "gender": (_l("Gender"), 20, False),
    "hometown": (_l("Hometown"), 50, False),
    "current_town": (_l("Where I live"), 50, False),
    "school": (_l("School"), 100, False),
    "workplace": (_l("Workplace"), 100, False),
    "interests": (_l("Interests"), 300, True),
}
# Fields others may find people by, when the owner allows it.
SEARCHABLE = ("real_name", "hometown", "current_town", "school", "workplace", "interests")
DEFAULT_VISIBILITY = {"intro": MEMBERS}


class ProfileField(BaseModel):
    """One filled-in profile field of a user."""

    user = ForeignKeyField(User, backref="profile_fields", on_delete="CASCADE")
    name = CharField(max_length=20)
    value = TextField()
    visibility = CharField(max_length=10, default=MEMBERS)
    searchable = BooleanField(default=False)

    class Meta:
        indexes = ((("user", "name"), True), (("name", "searchable"), False))

    @classmethod
    def of(cls, user):
        """{name: ProfileField} of ``user``."""
        fields = prepared("profile fields", lambda user_id: cls.select().where(cls.user == user_id),
                          user_id=user if isinstance(user, int) else user.id)
        return {field.name: field for field in fields}
