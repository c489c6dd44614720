"""The first schema: users, login throttling, site settings."""
from peewee import *


def up(migrator, db):
    class LoginAttempt(Model):
        login_id = CharField(index=True, max_length=64)
        address = CharField(index=True, max_length=64)
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'login_attempt'
    db.create_tables([LoginAttempt])

    class SiteSetting(Model):
        key = CharField(primary_key=True, max_length=64)
        value = TextField()
        class Meta:
            database = db
            table_name = 'site_setting'
    db.create_tables([SiteSetting])

    class User(Model):
        login_id = CharField(unique=True, max_length=20)
        nickname = CharField(max_length=30)
        password_hash = CharField()
        email = CharField(null=True, max_length=254)
        is_admin = BooleanField(default=False)
        is_suspended = BooleanField(default=False)
        language = CharField(max_length=5, default='')
        session_token = CharField(max_length=64)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('site_setting'))
    migrator.migrate(migrator.drop_table('login_attempt'))
