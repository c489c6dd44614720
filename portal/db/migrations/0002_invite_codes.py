"""Invite codes (admin codes now, members' invite links later)."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class InviteCode(Model):
        code = CharField(unique=True, max_length=64)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        note = CharField(max_length=100, default='')
        max_uses = IntegerField(default=1)
        uses = IntegerField(default=0)
        revoked = BooleanField(default=False)
        created_at = DateTimeField()
        expires_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'invite_code'
    db.create_tables([InviteCode])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('invite_code'))
