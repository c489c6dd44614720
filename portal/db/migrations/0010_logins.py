"""Logins: one row per signed-in browser or handset (portal/models/logins.py). They replace
the per-user session token, so every session of the old kind ends: members log in again."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Login(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        token_hash = CharField(max_length=64, unique=True)
        user_agent = CharField(max_length=200, default='')
        lifetime = IntegerField()
        remembered = BooleanField(default=False)
        created_at = DateTimeField()
        seen_at = DateTimeField()
        expires_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'login'
            indexes = ((('user', 'seen_at'), False),)
    db.create_tables([Login])
    migrator.migrate(migrator.drop_column('user', 'session_token'))


def down(migrator, db):
    import secrets

    migrator.migrate(migrator.drop_table('login'),
                     migrator.add_column('user', 'session_token', CharField(max_length=64, default='')))
    # The old code refuses an empty token: give each member one (everyone logs in again).
    for (user_id,) in db.execute_sql('SELECT id FROM "user"').fetchall():
        db.execute_sql(f'UPDATE "user" SET session_token = {db.param} WHERE id = {db.param}',
                       (secrets.token_urlsafe(24), user_id))
