"""Page generations: counters every write moves, read by the page cache."""
from peewee import *

def up(migrator, db):
    class PageGeneration(Model):
        scope = IntegerField(primary_key=True)
        n = BigIntegerField(default=0)
        class Meta:
            database = db
            table_name = 'page_generation'
    db.create_tables([PageGeneration])
    PageGeneration.insert(scope=0, n=0).execute()


def down(migrator, db):
    migrator.migrate(migrator.drop_table('page_generation'))
