"""People: profiles, friends, groups, introductions, aliases, blocks, footprints, reports."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Alias(Model):
        owner = ForeignKeyField(User, on_delete='CASCADE')
        target = ForeignKeyField(User, on_delete='CASCADE')
        name = CharField(max_length=30)
        note = TextField(default='')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'alias'
            indexes = ((('owner', 'target'), True),)
    db.create_tables([Alias])

    class Block(Model):
        blocker = ForeignKeyField(User, on_delete='CASCADE')
        blocked = ForeignKeyField(User, on_delete='CASCADE')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'block'
            indexes = ((('blocker', 'blocked'), True), (('blocked', 'blocker'), False))
    db.create_tables([Block])

    class Footprint(Model):
        owner = ForeignKeyField(User, on_delete='CASCADE')
        visitor = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField(max_length=20)
        object_id = IntegerField(default=0)
        visited_at = DateTimeField()
        visits = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'footprint'
            indexes = ((('owner', 'visitor'), True), (('owner', 'visited_at'), False), (('visitor', 'visited_at'), False))
    db.create_tables([Footprint])

    class FootprintDeletion(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'footprint_deletion'
            indexes = ((('user', 'created_at'), False),)
    db.create_tables([FootprintDeletion])

    class FriendGroup(Model):
        owner = ForeignKeyField(User, on_delete='CASCADE')
        name = CharField(max_length=30)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'friend_group'
            indexes = ((('owner', 'name'), True),)
    db.create_tables([FriendGroup])

    class FriendGroupMember(Model):
        group = ForeignKeyField(FriendGroup, on_delete='CASCADE')
        friend = ForeignKeyField(User, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'friend_group_member'
            indexes = ((('group', 'friend'), True), (('friend',), False))
    db.create_tables([FriendGroupMember])

    class FriendRequest(Model):
        sender = ForeignKeyField(User, on_delete='CASCADE')
        recipient = ForeignKeyField(User, on_delete='CASCADE')
        message = TextField(default='')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'friend_request'
            indexes = ((('sender', 'recipient'), True), (('recipient', 'created_at'), False))
    db.create_tables([FriendRequest])

    class Friendship(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        friend = ForeignKeyField(User, on_delete='CASCADE')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'friendship'
            indexes = ((('user', 'friend'), True), (('friend', 'user'), False))
    db.create_tables([Friendship])

    class Introduction(Model):
        about = ForeignKeyField(User, on_delete='CASCADE')
        writer = ForeignKeyField(User, on_delete='CASCADE')
        relationship = CharField(max_length=50, default='')
        body = TextField()
        hidden = BooleanField(default=False)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'introduction'
            indexes = ((('about', 'writer'), True), (('writer',), False))
    db.create_tables([Introduction])

    class ProfileField(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        name = CharField(max_length=20)
        value = TextField()
        visibility = CharField(max_length=10, default='members')
        searchable = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'profile_field'
            indexes = ((('user', 'name'), True), (('name', 'searchable'), False))
    db.create_tables([ProfileField])

    class Report(Model):
        reporter = ForeignKeyField(User, null=True, on_delete='SET NULL')
        target_user = ForeignKeyField(User, on_delete='CASCADE')
        kind = CharField(max_length=20)
        object_id = IntegerField(default=0)
        reason = TextField()
        status = CharField(max_length=10, default='open')
        created_at = DateTimeField()
        handled_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        handled_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'report'
            indexes = ((('status', 'created_at'), False),)
    db.create_tables([Report])

    migrator.migrate(migrator.add_column('user', 'invited_by_id', ForeignKeyField(User, field=User.id, null=True, on_delete='SET NULL')))
    migrator.migrate(migrator.add_column('user', 'leave_footprints', BooleanField(default=True)))
    migrator.migrate(migrator.add_column('user', 'show_visitors', BooleanField(default=True)))
    migrator.migrate(migrator.add_column('user', 'footprints_seen_at', DateTimeField(null=True)))
    migrator.migrate(migrator.add_column('user', 'footprints_purged', IntegerField(default=0)))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('user', 'user_invited_by_id'))
    migrator.migrate(migrator.drop_column('user', 'footprints_purged'))
    migrator.migrate(migrator.drop_column('user', 'footprints_seen_at'))
    migrator.migrate(migrator.drop_column('user', 'show_visitors'))
    migrator.migrate(migrator.drop_column('user', 'leave_footprints'))
    migrator.migrate(migrator.drop_column('user', 'invited_by_id'))
    migrator.migrate(migrator.drop_table('report'))
    migrator.migrate(migrator.drop_table('profile_field'))
    migrator.migrate(migrator.drop_table('introduction'))
    migrator.migrate(migrator.drop_table('friendship'))
    migrator.migrate(migrator.drop_table('friend_request'))
    migrator.migrate(migrator.drop_table('friend_group_member'))
    migrator.migrate(migrator.drop_table('friend_group'))
    migrator.migrate(migrator.drop_table('footprint_deletion'))
    migrator.migrate(migrator.drop_table('footprint'))
    migrator.migrate(migrator.drop_table('block'))
    migrator.migrate(migrator.drop_table('alias'))
