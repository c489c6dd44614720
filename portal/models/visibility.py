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
