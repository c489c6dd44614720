"""A small world of people around one owner, one per viewer relation."""
from dataclasses import dataclass

from portal.db import database
from portal.models import Block, FriendGroup, FriendGroupMember, Friendship, ProfileField, User
from portal.models.visibility import FIELD_LEVELS, LEVELS

RELATIONS = ["self", "friend", "group_friend", "fof", "member", "anonymous", "blocked"]
FIELD_FOR_LEVEL = {"public": "hometown", "members": "school", "fof": "workplace",
                   "friends": "real_name", "private": "interests"}
# Which profile levels each relation may see.
SEES = {
    "self": set(FIELD_LEVELS),
    "friend": {"public", "members", "fof", "friends"},
    "group_friend": {"public", "members", "fof", "friends"},
    "fof": {"public", "members", "fof"},
    "member": {"public", "members"},
    "anonymous": {"public"},
    "blocked": set(),
}


@dataclass
class World:
    owner: User
    users: dict  # relation -> User (no entry for anonymous)
    group: FriendGroup


def befriend(a, b):
    Friendship.make(a.id, b.id)


def build_world(make_user):
    users = {name: make_user(login, nickname=nick) for name, login, nick in [
        ("self", "olive", "オリーブ"), ("friend", "fred", "Fred"), ("group_friend", "gina", "ジーナ"),
        ("fof", "fiona", "Fiona"), ("member", "mark", "マーク"), ("blocked", "bob", "Bob")]}
    owner = users["self"]
    with database.connection_context():
        befriend(owner, users["friend"])
        befriend(owner, users["group_friend"])
        befriend(users["friend"], users["fof"])
        group = FriendGroup.create(owner=owner.id, name="仲良し")
        FriendGroupMember.create(group=group, friend=users["group_friend"].id)
        Block.add(owner.id, users["blocked"].id)
        for level, name in FIELD_FOR_LEVEL.items():
            ProfileField.create(user=owner.id, name=name, value=f"value-{level}-値", visibility=level)
    return World(owner, users, group)

# Which item levels (diary entries, albums, ...) each relation may see; group_friend is in
# the owner's group "仲良し".
ITEM_SEES = {
    "self": set(LEVELS),
    "friend": {"public", "members", "fof", "friends"},
    "group_friend": {"public", "members", "fof", "friends", "group"},
    "fof": {"public", "members", "fof"},
    "member": {"public", "members"},
    "anonymous": {"public"},
    "blocked": set(),
}
