"""Pages stay fast as the site grows: the same pages on a full-size and a 1/100-size database.

Run: python benchmarks/scale.py [--reuse] [--full-dir DIR] [--small-dir DIR] [--rounds 40] [--sql]

Seeds (benchmarks/seed.py; with --reuse, reuses what an earlier run seeded there) a database at
scale 1 (100,000 users, 1,000,000 entries, 5,000,000 comments...) and one at 1/100, serves both
from this process with the Flask test client, logged in as ``viewer`` (40 friends, 20 entries)
on a PC browser and on a docomo handset, and prints for each page the median latency on both,
the ratio full / small (limit 1.3) and the SQL statements the page runs (limit 12). Then page
1000 of the longest diary (``writer``'s, 2.5% of all entries, keyset ``?before=``) against page 1
(limit 1.5). People search and suggestions are measured for the record (statements limited,
latency not). Requests alternate one by one between the two sides of each ratio, so that other
load on the machine slows both alike; the median CPU time of the process is printed beside the
wall time because it hardly moves with such load. ``--sql`` prints every statement of each page
with its time on both databases and its query plan on the full one.
"""
import argparse
import logging
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from common import report  # noqa: E402
from querycount import count_queries  # noqa: E402
from seed import FRIEND, PASSWORD, VIEWER, WRITER, load_info, open_app, seed  # noqa: E402

from portal.db import database  # noqa: E402
from portal.models import DiaryEntry, User  # noqa: E402

UAS = {
    "pc": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "docomo": "DoCoMo/2.0 SH903i(c100;TB;W24H16)",
}
PAGE_SIZES = {"pc": 20, "docomo": 10}  # diary list pages (portal/device.py page_size)
PAGES = {  # label -> path; {entry} is the friend's newest entry (30 comments)
    "home": "/",
    "profile": f"/u/{FRIEND}",
    "diary list": f"/u/{FRIEND}/diary",
    "entry with comments": "/diary/{entry}",
    "comments of the entry": "/diary/{entry}/comments",
}
# Friend-finding pages, measured for the record without a latency limit: the search is a scan
# of nicknames, login IDs and searchable profile fields (README, "Benchmarks").
OTHER_PAGES = {
    "people search (a kana)": "/people/search?q=%E3%81%82",
    "people search (a login ID)": "/people/search?q=user123",
    "people you may know": "/people/suggestions",
}
DEEP_PAGE = 1000
STATEMENT_LIMIT = 12
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


class Site:
    """One seeded database with an app over it and logged-in clients; ``use()`` points the
    shared database proxy at it (one process serves both sites in turn)."""

    def __init__(self, name, data_dir, info, database_url=None):
        self.name, self.info = name, info
        # The page cache off: this measures what rendering costs as the data grows (a kept
        # page costs the same at any size).
        self.app = open_app(data_dir, database_url, PAGE_CACHE_SECONDS=0)
        self.database = database.obj
        self.clients = {kind: self._login(ua) for kind, ua in UAS.items()}

    def use(self):
        database.initialize(self.database)

    def _login(self, user_agent):
        self.use()
        client = self.app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = user_agent
        html = client.get("/login").data.decode("cp932", "replace")
        action = _ACTION.search(html).group(1).replace("&amp;", "&")
        token = next(group for group in _CSRF.search(html).groups() if group)
        response = client.post(action, data={"login_id": VIEWER, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302 and "/login" not in response.headers["Location"], "login failed"
        return client

    def get(self, kind, path):
        response = self.clients[kind].get(path)
        assert response.status_code == 200, (self.name, kind, path, response.status_code)
        return response

    def statements(self, kind, path):
        """The statements one request runs, as (sql, params)."""
        self.use()
        self.get(kind, path)  # once before, so that one-time work (a first footprint) is not counted
        with count_queries():  # its handler turns peewee's DEBUG logging on
            keep = _Keep()
            logging.getLogger("peewee").addHandler(keep)
            try:
                self.get(kind, path)
            finally:
                logging.getLogger("peewee").removeHandler(keep)
        return keep.rows

    def deep_cursor(self, kind, page):
        """(page number, path) of page ``page`` of the writer's diary as the viewer sees it (or
        of its last page when it is shorter): ``before`` is the id of the last item of the page
        before, which is what the app's "next" link carries."""
        self.use()
        per_page = PAGE_SIZES[kind]
        with self.app.app_context(), database.connection_context():
            viewer, writer = User.get(User.login_id == VIEWER), User.get(User.login_id == WRITER)
            ids = DiaryEntry.visible_to(viewer).where(DiaryEntry.owner == writer.id).order_by(DiaryEntry.id.desc())
            page = max(2, min(page, -(-ids.count() // per_page)))
            before = ids.offset(per_page * (page - 1) - 1).limit(1).first().id
            second = ids.offset(per_page - 1).limit(1).first().id
        html = self.get(kind, f"/u/{WRITER}/diary").data.decode("cp932", "replace")
        assert f"before={second}" in html, "page 1 links to another page 2 than the cursor arithmetic says"
        return page, f"/u/{WRITER}/diary?before={before}"


class _Keep(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.rows = []

    def emit(self, record):
        if isinstance(record.msg, tuple):
            self.rows.append(record.msg)


def measure(targets, kind, rounds):
    """{label: (median wall seconds, median CPU seconds)} of one request, for each
    (label, site, path) of ``targets``, the requests alternating one by one."""
    wall = {label: [] for label, _site, _path in targets}
    cpu = {label: [] for label, _site, _path in targets}
    for _label, site, path in targets:  # warm up: templates, the first footprint, the OS cache
        site.use()
        for _ in range(3):
            site.get(kind, path)
    for _ in range(rounds):
        for label, site, path in targets:
            site.use()
            start, start_cpu = time.perf_counter(), time.process_time()
            site.get(kind, path)
            wall[label].append(time.perf_counter() - start)
            cpu[label].append(time.process_time() - start_cpu)
    return {label: (statistics.median(wall[label]), statistics.median(cpu[label])) for label in wall}


def statement_times(site, statements, repeat=20):
    """Median seconds of each SELECT run again directly (None for writes)."""
    site.use()
    found = []
    with site.app.app_context(), database.connection_context():
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                found.append(None)
                continue
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                database.execute_sql(sql, params).fetchall()
                samples.append(time.perf_counter() - start)
            found.append(statistics.median(samples))
    return found


def show_sql(full, small, kind, paths):
    """Each statement of a page: time on the full and the small database, and its plan on the full."""
    statements = {site.name: site.statements(kind, paths[site.name]) for site in (full, small)}
    times = {site.name: statement_times(site, statements[site.name]) for site in (full, small)}
    sqlite = "sqlite" in type(full.database).__name__.lower()
    full.use()
    with full.app.app_context(), database.connection_context():
        for n, (sql, params) in enumerate(statements["full"]):
            t_full = times["full"][n]
            t_small = times["small"][n] if n < len(times["small"]) else None
            spent = (f"{t_full * 1000:7.2f} ms full, {t_small * 1000:7.2f} ms small"
                     if t_full is not None and t_small else f"{'(write)':>34}")
            print(f"    #{n + 1:<2} {spent}  {sql[:150]}{' ...' if len(sql) > 150 else ''}")
            if t_full is not None:
                plan = database.execute_sql(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql, params)
                for row in plan.fetchall():
                    print(f"          {row[-1]}")


def prepare(data_dir, scale, database_url, reuse):
    """The seed info of ``data_dir`` at ``scale``: reused when asked and complete, else seeded."""
    info = load_info(data_dir)
    if reuse and info and info.get("complete") and info["scale"] == scale:
        print(f"reusing {data_dir} (scale {scale}, seeded {info['seeded_at'][:16]})")
        return info
    folder = Path(data_dir)
    if folder.exists() and any(folder.iterdir()):
        if info is None and (folder / "portal.db").exists():
            raise SystemExit(f"{data_dir} holds a database that seed.py did not make; choose another folder")
        for name in ("portal.db", "portal.db-wal", "portal.db-shm", "seed.json"):
            (folder / name).unlink(missing_ok=True)
    print(f"seeding {data_dir} at scale {scale} ...", flush=True)
    info = seed(data_dir, scale, database_url)
    print(f"  seeded in {info['seconds']:.0f} s, {info['bytes'] / 2**20:,.0f} MiB")
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full-dir", default="/tmp/portal-scale-full")
    parser.add_argument("--small-dir", default="/tmp/portal-scale-small")
    parser.add_argument("--full-url", default=None, help="PostgreSQL URL of the full-size database")
    parser.add_argument("--small-url", default=None, help="PostgreSQL URL of the small database")
    parser.add_argument("--full-scale", type=float, default=1.0)
    parser.add_argument("--reuse", action="store_true", help="reuse databases seeded by an earlier run")
    parser.add_argument("--rounds", type=int, default=40, help="requests per page and database")
    parser.add_argument("--sql", action="store_true", help="print each page's statements, times and plans")
    args = parser.parse_args()

    full_info = prepare(args.full_dir, args.full_scale, args.full_url, args.reuse)
    small_info = prepare(args.small_dir, args.full_scale / 100, args.small_url, args.reuse)
    small = Site("small", args.small_dir, small_info, args.small_url)
    full = Site("full", args.full_dir, full_info, args.full_url)
    counts = full_info["counts"]
    print(f"full: {counts['users']:,} users, {counts['entries']:,} entries, {counts['comments']:,} comments, "
          f"{2 * counts['friendships']:,} friendship rows, {counts['footprints']:,} footprints; "
          f"small: 1/100. Logged in as {VIEWER}; median of {args.rounds} requests each.")
    ok = True
    for kind in UAS:
        for label, template in PAGES.items():
            paths = {site.name: template.format(entry=site.info["popular_entry"]) for site in (full, small)}
            times = measure([(site.name, site, paths[site.name]) for site in (small, full)], kind, args.rounds)
            statements = {site.name: len(site.statements(kind, paths[site.name])) for site in (full, small)}
            (wall_full, cpu_full), (wall_small, cpu_small) = times["full"], times["small"]
            print(f"{kind} {label}: full {wall_full * 1000:.1f} ms (CPU {cpu_full * 1000:.1f}), "
                  f"small {wall_small * 1000:.1f} ms (CPU {cpu_small * 1000:.1f})")
            ok &= report(f"  {kind} {label}: full / small", wall_full / wall_small, limit=1.3)
            report(f"  {kind} {label}: full / small, CPU time", cpu_full / cpu_small)
            ok &= report(f"  {kind} {label}: SQL statements (small: {statements['small']})", statements["full"],
                         limit=STATEMENT_LIMIT, unit="")
            if args.sql:
                show_sql(full, small, kind, paths)
        print(f"{kind} community topic: n/a, communities not built yet")
    for label, path in OTHER_PAGES.items():
        kind = "pc"
        times = measure([(site.name, site, path) for site in (small, full)], kind, args.rounds)
        (wall_full, _), (wall_small, _) = times["full"], times["small"]
        print(f"{kind} {label}: full {wall_full * 1000:.1f} ms, small {wall_small * 1000:.1f} ms (no limit)")
        report(f"  {kind} {label}: full / small", wall_full / wall_small)
        ok &= report(f"  {kind} {label}: SQL statements", len(full.statements(kind, path)),
                     limit=STATEMENT_LIMIT, unit="")
    for kind in UAS:
        for site in (full, small):
            page, deep = site.deep_cursor(kind, DEEP_PAGE)
            first = f"/u/{WRITER}/diary"
            times = measure([("first", site, first), ("deep", site, deep)], kind, args.rounds)
            (wall_first, cpu_first), (wall_deep, cpu_deep) = times["first"], times["deep"]
            print(f"{kind} {site.name}: {WRITER}'s diary page 1 {wall_first * 1000:.1f} ms (CPU {cpu_first * 1000:.1f}), "
                  f"page {page} {wall_deep * 1000:.1f} ms (CPU {cpu_deep * 1000:.1f})")
            limit = 1.5 if page == DEEP_PAGE else None
            ok &= report(f"  {kind} {site.name}: page {page} / page 1 (keyset)", wall_deep / wall_first, limit=limit)
            report(f"  {kind} {site.name}: page {page} / page 1, CPU time", cpu_deep / cpu_first)
            ok &= report(f"  {kind} {site.name}: SQL statements of page {page}", len(site.statements(kind, deep)),
                         limit=STATEMENT_LIMIT, unit="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
