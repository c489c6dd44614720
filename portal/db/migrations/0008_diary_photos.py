"""Pictures attached to diary entries."""
from peewee import *

def up(migrator, db):
    class DiaryEntry(Model):
        class Meta:
            database = db
            table_name = 'diary_entry'

    class DiaryPhoto(Model):
        entry = ForeignKeyField(DiaryEntry, on_delete='CASCADE')
        media_id = CharField(unique=True, max_length=40)
        width = IntegerField()
        height = IntegerField()
        position = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'diary_photo'
            indexes = ((('entry', 'position'), False),)
    db.create_tables([DiaryPhoto])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('diary_photo'))
