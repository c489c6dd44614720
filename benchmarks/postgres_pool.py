"""PostgreSQL with the connection pool against a connection per request, in one run.

Run: python benchmarks/postgres_pool.py [--database-url postgresql://postgres@127.0.0.1:5432/test] [--requests 100]

Builds the demo site in a scratch schema of the given database (dropped afterwards), logs in
a PC browser with the Flask test client and prints the median time of home and a profile,
from the page cache (a hit asks the database one question) and with the cache off, served by
the app as configured (a pool of open connections: portal/db.py) and by the same app opening
a new connection for every request, then the ratios pooled / unpooled.
"""
import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from peewee import PostgresqlDatabase  # noqa: E402

import portal.db as portal_db  # noqa: E402
from common import report  # noqa: E402
from portal import create_app
from portal.ops import demo# noqa: E402
from portal.db import WriteTracking, database  # noqa: E402

PC_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PAGES = {"home": "/", "profile": "/u/demo1"}


class UnpooledPostgresql(WriteTracking, PostgresqlDatabase):
    """What the app used before the pool: connect at each request, close after it."""


def unpooled(make_database):
    def make(url):
        pooled = make_database(url)
        return UnpooledPostgresql(pooled.database, **pooled.connect_params)
    return make


def measure(url, data_dir, cache_seconds, requests):
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": url, "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "PAGE_CACHE_SECONDS": cache_seconds})
    portal_db.upgrade()
    with app.app_context(), database.connection_context():
        demo.seed(3)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = PC_UA
    response = client.post("/login", data={"login_id": "demo2", "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302, "login failed"
    medians = {}
    for label, path in PAGES.items():
        client.get(path)
        samples = []
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get(path)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, (path, response.status_code)
        medians[label] = statistics.median(samples)
    return medians


def main():
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    schema = "bench_" + secrets.token_hex(4)
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in args.database_url else "?"
    url = f"{args.database_url}{sep}options={quote('-c search_path=' + schema)}"
    make_database = portal_db.make_database
    try:
        with TemporaryDirectory() as data_dir:
            for cache_seconds, what in ((30, "page cache hit"), (0, "page cache off")):
                portal_db.make_database = make_database
                pooled = measure(url, data_dir, cache_seconds, args.requests)
                portal_db.make_database = unpooled(make_database)
                plain = measure(url, data_dir, cache_seconds, args.requests)
                for label in PAGES:
                    print(f"{label}, {what}: pooled {pooled[label] * 1000:.2f} ms, "
                          f"a connection per request {plain[label] * 1000:.2f} ms")
                    report(f"  {label}, {what}: pooled / unpooled", pooled[label] / plain[label])
    finally:
        portal_db.make_database = make_database
        if hasattr(database.obj, "close_all"):
            database.obj.close_all()
        database.close()
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return 0


if __name__ == "__main__":
    sys.exit(main())
