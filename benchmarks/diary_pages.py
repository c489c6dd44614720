"""Deep pages stay fast: page 1000 of a 1,000,000-entry diary vs page 1, served by the app.

Run: python benchmarks/diary_pages.py [--entries 1000000]
Prints the median time of page 1 and page 1000 (keyset, ``?before=``) and their ratio; for
comparison, the same depth with OFFSET pagination, which grows with the depth.
"""
import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import UA_PC, make_app, median_time, report  # noqa: E402

from portal.db import database, utcnow  # noqa: E402
from portal.models import DiaryEntry, User  # noqa: E402
from portal.models.diary import rebuild_months  # noqa: E402


def seed(count):
    """One member with ``count`` public entries (bulk insert in batches)."""
    with database.connection_context():
        owner = User.create(login_id="writer", nickname="Writer", password_hash="x")
        now = utcnow()
        batch = 5000
        with database.atomic():
            for start in range(0, count, batch):
                rows = [(owner.id, f"entry {n}", "body", "public", now, now)
                        for n in range(start, min(count, start + batch))]
                DiaryEntry.insert_many(rows, fields=[DiaryEntry.owner, DiaryEntry.title, DiaryEntry.body,
                                                     DiaryEntry.visibility, DiaryEntry.created_at,
                                                     DiaryEntry.updated_at]).execute()
                if start % 100000 == 0:
                    print(f"  seeded {start + len(rows):,} entries", file=sys.stderr)
        rebuild_months()
        return owner


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    app, folder = make_app()
    seed(args.entries)
    per_page = 20
    with database.connection_context():
        ids = DiaryEntry.select(DiaryEntry.id).order_by(DiaryEntry.id.desc())
        before = ids.offset(per_page * (args.page - 1) - 1).limit(1).scalar() + 0
        # The first id on page N is just below ``before``.
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA_PC

    def get(path):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    first = median_time(lambda: get("/u/writer/diary"))
    deep = median_time(lambda: get(f"/u/writer/diary?before={before}"))
    print(f"diary list of {args.entries:,} entries, {per_page} a page")
    report("page 1 (ms)", first * 1000, unit=" ms")
    report(f"page {args.page} by keyset (ms)", deep * 1000, unit=" ms")
    ok = report(f"page {args.page} / page 1 (keyset)", deep / first, limit=1.5)
    with database.connection_context():
        offset_query = DiaryEntry.visible_to(None).where(DiaryEntry.owner == 1)
        offset_first = median_time(lambda: list(offset_query.paginate(1, per_page)), repeat=10)
        offset_deep = median_time(lambda: list(offset_query.paginate(args.page, per_page)), repeat=10)
    report(f"for comparison: page {args.page} / page 1 with OFFSET (query only)", offset_deep / offset_first)
    shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
