"""Every row of every table in a comparable form, to check what a run of requests changed."""
from portal.db import database
from portal.models import ALL_MODELS


def tables(skip_columns=()):
    """{table: sorted rows} for every model table and the migration history.

    ``skip_columns`` holds "table.column" names left out of the rows (writes that are
    allowed to happen), or "table" to leave a whole table out."""
    skip = set(skip_columns)
    rows = {}
    with database.connection_context():
        for model in ALL_MODELS:
            table = model._meta.table_name
            if table in skip:
                continue
            fields = [f for f in model._meta.sorted_fields if f"{table}.{f.column_name}" not in skip]
            rows[table] = sorted(map(repr, model.select(*fields).tuples()))
        rows["schema_migration"] = sorted(map(repr, database.execute_sql("SELECT * FROM schema_migration").fetchall()))
    return rows


def differences(before, after):
    """Human-readable list of what changed between two snapshots."""
    changes = []
    for table in sorted(set(before) | set(after)):
        old, new = set(before.get(table, [])), set(after.get(table, []))
        changes += [f"{table}: - {row}" for row in sorted(old - new)[:3]]
        changes += [f"{table}: + {row}" for row in sorted(new - old)[:3]]
    return changes
