"""Messages, password resets, message and notice settings of users."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Message(Model):
        sender = ForeignKeyField(User, on_delete='CASCADE')
        recipient = ForeignKeyField(User, on_delete='CASCADE')
        subject = CharField(max_length=100)
        body = TextField()
        reply_to = ForeignKeyField('self', null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        read_at = DateTimeField(null=True)
        sender_box = CharField(max_length=8, default='sent')
        recipient_box = CharField(max_length=8, default='inbox')
        class Meta:
            database = db
            table_name = 'message'
            indexes = ((('recipient', 'recipient_box', 'id'), False), (('sender', 'sender_box', 'id'), False), (('sender', 'created_at'), False))
    db.create_tables([Message])

    class PasswordReset(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        token_hash = CharField(unique=True, max_length=64)
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'password_reset'
    db.create_tables([PasswordReset])

    migrator.migrate(migrator.add_column('user', 'invitees_seen_at', DateTimeField(null=True)))
    migrator.migrate(migrator.add_column('user', 'message_policy', CharField(max_length=10, default='friends')))
    migrator.migrate(migrator.add_column('user', 'email_on_message', BooleanField(default=False)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('user', 'email_on_message'))
    migrator.migrate(migrator.drop_column('user', 'message_policy'))
    migrator.migrate(migrator.drop_column('user', 'invitees_seen_at'))
    migrator.migrate(migrator.drop_table('password_reset'))
    migrator.migrate(migrator.drop_table('message'))
