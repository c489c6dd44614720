"""Diary entries, monthly archive counts, comments, comment watching, voices, likes."""
from peewee import *


def up(migrator, db):
    class FriendGroup(Model):
        class Meta:
            database = db
            table_name = 'friend_group'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class DiaryEntry(Model):
        owner = ForeignKeyField(User, on_delete='CASCADE')
        title = CharField(max_length=100)
        body = TextField()
        visibility = CharField(max_length=10, default='friends')
        group = ForeignKeyField(FriendGroup, null=True, on_delete='SET NULL')
        allow_comments = BooleanField(default=True)
        comment_count = IntegerField(default=0)
        like_count = IntegerField(default=0)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'diary_entry'
            indexes = ((('owner', 'id'), False), (('owner', 'created_at'), False))
    db.create_tables([DiaryEntry])

    class CommentWatch(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        entry = ForeignKeyField(DiaryEntry, on_delete='CASCADE')
        seen_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'comment_watch'
            indexes = ((('user', 'entry'), True), (('entry',), False))
    db.create_tables([CommentWatch])

    class DiaryComment(Model):
        entry = ForeignKeyField(DiaryEntry, on_delete='CASCADE')
        author = ForeignKeyField(User, on_delete='CASCADE')
        body = TextField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'diary_comment'
            indexes = ((('entry', 'id'), False), (('author',), False))
    db.create_tables([DiaryComment])

    class DiaryMonth(Model):
        owner = ForeignKeyField(User, on_delete='CASCADE')
        month = CharField(max_length=7)
        visibility = CharField(max_length=10)
        group = ForeignKeyField(FriendGroup, null=True, on_delete='SET NULL')
        count = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'diary_month'
            indexes = ((('owner', 'month', 'visibility', 'group'), True),)
    db.create_tables([DiaryMonth])

    class Like(Model):
        kind = CharField(max_length=20)
        object_id = IntegerField()
        user = ForeignKeyField(User, on_delete='CASCADE')
        owner = ForeignKeyField(User, on_delete='CASCADE')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'like'
            indexes = ((('kind', 'object_id', 'user'), True), (('owner', 'created_at'), False), (('user', 'created_at'), False))
    db.create_tables([Like])

    class Voice(Model):
        owner = ForeignKeyField(User, on_delete='CASCADE')
        body = CharField(max_length=600)
        visibility = CharField(max_length=10, default='friends')
        group = ForeignKeyField(FriendGroup, null=True, on_delete='SET NULL')
        reply_to = ForeignKeyField('self', null=True, on_delete='CASCADE')
        reply_count = IntegerField(default=0)
        like_count = IntegerField(default=0)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'voice'
            indexes = ((('owner', 'id'), False), (('reply_to', 'id'), False))
    db.create_tables([Voice])

    class VoiceMute(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        muted = ForeignKeyField(User, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'voice_mute'
            indexes = ((('user', 'muted'), True),)
    db.create_tables([VoiceMute])

    migrator.migrate(migrator.add_column('user', 'likes_seen_at', DateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('user', 'likes_seen_at'))
    migrator.migrate(migrator.drop_table('voice_mute'))
    migrator.migrate(migrator.drop_table('voice'))
    migrator.migrate(migrator.drop_table('like'))
    migrator.migrate(migrator.drop_table('diary_month'))
    migrator.migrate(migrator.drop_table('diary_comment'))
    migrator.migrate(migrator.drop_table('comment_watch'))
    migrator.migrate(migrator.drop_table('diary_entry'))
