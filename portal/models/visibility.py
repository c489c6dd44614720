"""The visibility ladder, widest first. Only privacy.py decides what a level allows."""
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

PUBLIC, MEMBERS, FOF, FRIENDS, GROUP, PRIVATE = "public", "members", "fof", "friends", "group", "private"
LEVELS = (PUBLIC, MEMBERS, FOF, FRIENDS, GROUP, PRIVATE)
# Profile fields use the ladder without groups.
FIELD_LEVELS = (PUBLIC, MEMBERS, FOF, FRIENDS, PRIVATE)

LABELS = {
    PUBLIC: _l("Everyone"),
    MEMBERS: _l("Members"),
    FOF: _l("Friends of friends"),
    FRIENDS: _l("Friends"),
    GROUP: _l("A friend group"),
    PRIVATE: _l("Only me"),
}


def choices(levels=LEVELS):
    """Select choices for a visibility field."""
    return [SelectChoice(level, LABELS[level]) for level in levels]


class OnTheLadder:
    """Mixin for content with ``owner``, ``visibility`` and ``group`` columns (diary entries,
    voices, albums): ``visible_to(viewer)`` is the query of the rows the viewer may see."""

    @classmethod
    def visible_to(cls, viewer):
        """Rows ``viewer`` may see, with their owners, newest first (privacy decides)."""
        from .. import privacy
        from .users import User

        return (cls.select(cls, User).join(User, on=(cls.owner == User.id))
                .where(privacy.visible_filter(viewer, cls.owner, cls.visibility, cls.group, blocks=False)
                       & privacy.visible_users(viewer))
                .order_by(cls.id.desc()))
