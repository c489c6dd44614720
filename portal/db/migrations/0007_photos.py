"""Photo albums, photos, photo comments, avatars."""
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

    class Album(Model):
        owner = ForeignKeyField(User, on_delete='CASCADE')
        title = CharField(max_length=100)
        description = TextField(default='')
        visibility = CharField(max_length=10, default='friends')
        group = ForeignKeyField(FriendGroup, null=True, on_delete='SET NULL')
        cover_media = CharField(null=True, max_length=40)
        photo_count = IntegerField(default=0)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'album'
            indexes = ((('owner', 'id'), False),)
    db.create_tables([Album])

    class Photo(Model):
        owner = ForeignKeyField(User, on_delete='CASCADE')
        album = ForeignKeyField(Album, on_delete='CASCADE')
        media_id = CharField(unique=True, max_length=40)
        width = IntegerField()
        height = IntegerField()
        caption = CharField(max_length=800, default='')
        position = IntegerField(default=0)
        like_count = IntegerField(default=0)
        comment_count = IntegerField(default=0)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'photo'
            indexes = ((('album', 'position', 'id'), False),)
    db.create_tables([Photo])

    class PhotoComment(Model):
        photo = ForeignKeyField(Photo, on_delete='CASCADE')
        author = ForeignKeyField(User, on_delete='CASCADE')
        body = TextField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'photo_comment'
            indexes = ((('photo', 'id'), False),)
    db.create_tables([PhotoComment])

    migrator.migrate(migrator.add_column('user', 'avatar_media', CharField(null=True, max_length=40)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('user', 'avatar_media'))
    migrator.migrate(migrator.drop_table('photo_comment'))
    migrator.migrate(migrator.drop_table('photo'))
    migrator.migrate(migrator.drop_table('album'))
