"""Server-side sessions of handsets that may not keep cookies."""
from peewee import *


def up(migrator, db):
    class UrlSession(Model):
        token = CharField(primary_key=True, max_length=64)
        ua_hash = CharField(max_length=64)
        data = TextField(default='{}')
        updated_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'url_session'
    db.create_tables([UrlSession])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('url_session'))
