"""SQLite under concurrent writers: a transaction that reads before it writes must wait for
the write lock, not fail with "database is locked" (benchmarks/load.py found it in diary edits)."""
import sqlite3
import threading

import pytest

from portal import db
from portal.models import SiteSetting

from helpers import PG_URL


@pytest.mark.skipif(bool(PG_URL), reason="SQLite locking")
def test_transaction_reading_first_waits_for_the_write_lock(app):
    path = app.config["DATABASE_URL"][len("sqlite:///"):]
    with app.app_context(), db.database.connection_context():
        SiteSetting.create(key="a", value="0")
        SiteSetting.create(key="b", value="0")
        other_done = threading.Event()

        def other_writer():  # another connection commits while our transaction is open
            conn = sqlite3.connect(path, timeout=10, isolation_level=None)
            try:
                conn.execute("UPDATE site_setting SET value = '1' WHERE key = 'b'")
            finally:
                conn.close()
                other_done.set()

        with db.database.atomic():
            SiteSetting.get_value("a")  # read first (a deferred BEGIN takes a snapshot here)
            writer = threading.Thread(target=other_writer)
            writer.start()
            other_done.wait(timeout=1)  # with BEGIN IMMEDIATE the other writer waits for us
            SiteSetting.update(value="2").where(SiteSetting.key == "a").execute()
        writer.join(timeout=15)
        assert not writer.is_alive()
        assert SiteSetting.get_value("a") == "2" and SiteSetting.get_value("b") == "1"
