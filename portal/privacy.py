"""The one place that decides who may see or do what.

Views and templates never compare visibility levels or friend lists themselves:
they ask here. Two forms of every rule: a Python check for one item
(``can_see``) and an SQL condition for lists (``visible_filter``), so lists,
feeds, search results and counters apply the same rule inside the query.

Levels, widest first: public, members, fof (friends of friends), friends, group
(one of the owner's friend groups), private. A block overrides every level in
both directions. Suspended users' content is hidden from everyone but admins'
moderation tools.
"""
from flask import g, has_request_context, request
from peewee import SQL, fn

from .db import prepared_first
from .models import Block, FriendGroupMember, Friendship, ProfileField, User
from .models.visibility import FOF, FRIENDS, GROUP, MEMBERS, PUBLIC

SELF, FRIEND, FRIEND_OF_FRIEND, MEMBER, ANONYMOUS, BLOCKED = (
    "self", "friend", "fof", "member", "anonymous", "blocked")


def _viewer_id(viewer):
    """The id of a logged-in viewer, or None for anonymous (None or AnonymousUserMixin)."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return None
    return viewer.id


def viewer_value(viewer):
    """``viewer`` as a value of a prepared query (db.prepared): none for a logged-out visitor,
    whose queries have another shape (the caller's key says which)."""
    return {} if _viewer_id(viewer) is None else {"viewer": viewer}


def _id(user):
    return user if isinstance(user, int) else user.id


def is_blocked(a, b):
    """True when either user blocked the other."""
    if a is None or b is None:
        return False
    if _id(a) == _id(b):
        return False
    if _reading():
        return _known_relation(_id(a), _id(b)) == BLOCKED
    return Block.between(_id(a), _id(b))


def are_friends(a, b):
    return Friendship.exists_between(_id(a), _id(b))


def relation(viewer, owner):
    """How ``viewer`` stands to ``owner``: self, friend, fof, member, anonymous or blocked.

    One query: the block, friendship and friend-of-friend tests are EXISTS
    subqueries of a single SELECT. While reading (GET), the answer is kept for the rest
    of the request, since the view, its checks and the template ask the same question.
    """
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return ANONYMOUS
    owner_id = _id(owner)
    if viewer_id == owner_id:
        return SELF
    return _known_relation(viewer_id, owner_id) if _reading() else _relation(viewer_id, owner_id)


def _reading():
    return has_request_context() and request.method in ("GET", "HEAD")


def _known_relation(viewer_id, owner_id):
    """relation() kept for the rest of the request (a block counts in both directions)."""
    known = g.setdefault("relations", {})
    if (viewer_id, owner_id) not in known:
        known[(viewer_id, owner_id)] = _relation(viewer_id, owner_id)
    return known[(viewer_id, owner_id)]


def _relation_query(viewer_id, owner_id):
    friend, mid = Friendship.alias("rf"), Friendship.alias("rm")
    blocked = _blocked_exists(owner_id, viewer_id)
    is_friend = fn.EXISTS(friend.select(SQL("1")).where(
        (friend.user == owner_id) & (friend.friend == viewer_id)))
    is_fof = fn.EXISTS(friend.select(SQL("1")).join(mid, on=(mid.user == friend.friend)).where(
        (friend.user == owner_id) & (mid.friend == viewer_id)))
    return User.select(blocked, is_friend, is_fof).where(User.id == owner_id).tuples()


def _relation(viewer_id, owner_id):
    row = prepared_first("relation", _relation_query, viewer_id=viewer_id, owner_id=owner_id)
    if row is None:
        return MEMBER
    if row[0]:
        return BLOCKED
    if row[1]:
        return FRIEND
    return FRIEND_OF_FRIEND if row[2] else MEMBER


def allows(rel, level, in_group=False):
    """Whether a viewer with relation ``rel`` may see an item at ``level``."""
    if rel == SELF:
        return True
    if rel == BLOCKED:
        return False
    if level == PUBLIC:
        return True
    if rel == ANONYMOUS:
        return False
    if level == MEMBERS:
        return True
    if level == FOF:
        return rel in (FRIEND, FRIEND_OF_FRIEND)
    if level == FRIENDS:
        return rel == FRIEND
    if level == GROUP:
        return rel == FRIEND and in_group
    return False  # private, or an unknown level


def in_group(viewer, group_id):
    """True when ``viewer`` is in friend group ``group_id``."""
    viewer_id = _viewer_id(viewer)
    if viewer_id is None or group_id is None:
        return False
    return FriendGroupMember.select().where(
        (FriendGroupMember.group == group_id) & (FriendGroupMember.friend == viewer_id)).exists()


def can_see(viewer, owner, level, group_id=None, rel=None):
    """May ``viewer`` see one item of ``owner`` at ``level`` (and ``group_id`` for group)?"""
    if getattr(owner, "is_suspended", False) and _viewer_id(viewer) != _id(owner):
        return False
    rel = rel or relation(viewer, owner)
    return allows(rel, level, in_group(viewer, group_id) if level == GROUP else False)


def visible_filter(viewer, owner_col, level_col, group_col=None, blocks=True):
    """SQL condition: rows whose owner (``owner_col``) lets ``viewer`` see them at ``level_col``.

    Callers also exclude suspended owners (see ``visible_users``).
    """
    viewer_id = _viewer_id(viewer)
    if viewer_id is None:
        return level_col == PUBLIC
    friend = Friendship.alias("vf")
    mid = Friendship.alias("vm")
    is_friend = fn.EXISTS(friend.select(SQL("1")).where(
        (friend.user == owner_col) & (friend.friend == viewer_id)))
    is_fof = fn.EXISTS(friend.select(SQL("1")).join(mid, on=(mid.user == friend.friend)).where(
        (friend.user == owner_col) & (mid.friend == viewer_id)))
    # Each EXISTS once: every copy is compiled and run again.
    condition = (level_col.in_([PUBLIC, MEMBERS])
                 | (level_col.in_([FRIENDS, FOF]) & is_friend)
                 | ((level_col == FOF) & is_fof))
    if group_col is not None:
        member = FriendGroupMember.alias("vg")
        condition |= (level_col == GROUP) & fn.EXISTS(member.select(SQL("1")).where(
            (member.group == group_col) & (member.friend == viewer_id)))
    if not blocks:  # the caller excludes blocks already (visible_users on the owner)
        return (owner_col == viewer_id) | condition
    return (owner_col == viewer_id) | (condition & ~_blocked_exists(owner_col, viewer_id))


def _blocked_exists(user_col, viewer_id):
    block = Block.alias("vb")
    return fn.EXISTS(block.select(SQL("1")).where(
        ((block.blocker == user_col) & (block.blocked == viewer_id))
        | ((block.blocker == viewer_id) & (block.blocked == user_col))))


def visible_users(viewer, user_col=None):
    """SQL condition on ``user_col`` (default User.id): not suspended, no block with ``viewer``.

    The query must include the User table (for ``is_suspended``).
    """
    user_col = user_col or User.id
    condition = User.is_suspended == False  # noqa: E712
    viewer_id = _viewer_id(viewer)
    if viewer_id is not None:
        condition &= ~_blocked_exists(user_col, viewer_id)
    return condition


# --- Profiles ---------------------------------------------------------------


def can_view_profile(viewer, owner):
    """Anyone may see a profile's public part, except across a block or when suspended."""
    if owner.is_suspended and _viewer_id(viewer) != owner.id:
        return False
    return relation(viewer, owner) != BLOCKED


def visible_profile_fields(viewer, owner, rel=None):
    """The ProfileFields of ``owner`` that ``viewer`` may see, in display order."""
    rel = rel or relation(viewer, owner)
    fields = ProfileField.of(owner)
    return {name: field for name, field in fields.items() if allows(rel, field.visibility)}


def searchable_fields_filter(viewer):
    """SQL condition on ProfileField for search: searchable and visible to ``viewer``."""
    return (ProfileField.searchable == True) & visible_filter(  # noqa: E712
        viewer, ProfileField.user, ProfileField.visibility)


def can_see_friend_list(viewer, owner):
    """The friends list of a user is shown to whoever may see the profile (and is logged in)."""
    return _viewer_id(viewer) is not None and can_view_profile(viewer, owner)


# --- Acting on people ---------------------------------------------------------


def can_request_friendship(sender, recipient):
    """Friend requests: between two different, active users without a block."""
    return (sender.id != recipient.id and not recipient.is_suspended
            and not is_blocked(sender, recipient))


def can_introduce(writer, about):
    """Only a friend may write an introduction."""
    return writer.id != about.id and are_friends(writer, about) and not is_blocked(writer, about)


def may_leave_footprint(visitor, owner):
    """A visit leaves a footprint: a logged-in visitor with footprints on, on another's page."""
    visitor_id = _viewer_id(visitor)
    if visitor_id is None or visitor_id == _id(owner):
        return False
    return visitor.leave_footprints and not is_blocked(visitor_id, owner)


def can_see_own_visitors(user):
    """Stealth is fair: whoever leaves no footprints sees no visitors either."""
    return bool(user.leave_footprints and user.show_visitors)



# --- Content items (diary entries, voices, later photos and topics) -------------

def can_see_item(viewer, item, rel=None):
    """May ``viewer`` see ``item`` (anything with owner, visibility and group)? A reply is seen
    by whoever may see what it answers (its level is the thread's, not its writer's), except
    across a block with its writer."""
    if getattr(item, "reply_to_id", None) is not None:
        return can_see_item(viewer, item.reply_to) and can_view_profile(viewer, item.owner)
    return can_see(viewer, item.owner, item.visibility, getattr(item, "group_id", None), rel=rel)


def can_comment(viewer, entry, rel=None):
    """Logged-in viewers who may see the entry comment, where the owner allows comments."""
    if _viewer_id(viewer) is None or not entry.allow_comments:
        return False
    return can_see_item(viewer, entry, rel=rel)


def can_delete_comment(viewer, comment, entry):
    """The comment's writer and the entry's owner may delete a comment."""
    viewer_id = _viewer_id(viewer)
    return viewer_id is not None and viewer_id in (comment.author_id, entry.owner_id)


def friends_feed_filter(viewer, owner_col):
    """SQL condition: ``owner_col`` is one of ``viewer``'s friends."""
    return owner_col.in_(Friendship.select(Friendship.friend).where(Friendship.user == viewer.id))


# --- Messages ------------------------------------------------------------------------

def can_message(sender, recipient):
    """May ``sender`` write to ``recipient``? Never across a block; friends only unless the
    recipient accepts messages from any member."""
    if sender.id == recipient.id or recipient.is_suspended or is_blocked(sender, recipient):
        return False
    return recipient.message_policy == "members" or are_friends(sender, recipient)


def can_read_message(viewer, message):
    """Only the sender and the recipient read a message, while it is in one of their boxes."""
    viewer_id = _viewer_id(viewer)
    box = message.box_for(viewer_id) if viewer_id is not None else None
    return box is not None and box != "gone"
