"""A big, consistent database for the scale benchmarks, built with bulk inserts in minutes.

Run: python benchmarks/seed.py --data-dir /tmp/portal-scale-full [--scale 1.0] [--database-url URL] [--check]

At scale 1 (``--scale 0.01`` builds 1/100 of everything): 100,000 users; 2,000,000 friendships
(pairs, stored as the app stores them: two directed rows each, so 4,000,000 rows and 40 friends
on average); 1,000,000 diary entries on the visibility ladder; 5,000,000 comments; 1,000,000
footprints. Everything the app derives is derived here too: comment counts, the monthly
archive (DiaryMonth, by the app's own ``rebuild_months``), comment watches (the owner and every
commenter follow an entry), friend groups for the ``group`` level, profile fields. Ids follow
time, as they do when people use the site. Who comments may see the entry; stealth members
leave no footprints; footprints are younger than the retention. Not seeded (their tables stay
empty, so their counters are right at 0): likes, messages, voices, photos, introductions.
``--check`` then runs SQL checks that every counter and rule holds (CHECKS below).

Three members are fixed, whatever the scale: ``writer`` (2.5% of all entries: a diary deep enough
for page 1000), ``viewer`` (40 friends, 20 entries, a friend group; not a friend of the writer)
and ``friend`` (a friend of the viewer with 60 entries; the newest has 30 comments). Password
of every member: ``seed-password`` (one shared hash).

On SQLite the seed runs with ``synchronous=OFF`` and an in-memory journal, drops each big table's
secondary indexes while loading and builds them again afterwards (then the database is put back
in WAL mode). On PostgreSQL rows go in with COPY, then sequences are moved past the ids used and
the tables are ANALYZEd (as autovacuum would). Importable: ``seed(data_dir, scale, database_url)``.
"""
import argparse
import array
import datetime
import heapq
import itertools
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peewee import SqliteDatabase  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from portal import create_app, db  # noqa: E402
from portal.db import database, utcnow  # noqa: E402
from portal.models import (CommentWatch, DiaryComment, DiaryEntry, DiaryMonth, Footprint,  # noqa: E402
                           FriendGroup, FriendGroupMember, Friendship, ProfileField, User)
from portal.models.diary import rebuild_months  # noqa: E402

FULL = {"users": 100_000, "friendships": 2_000_000, "entries": 1_000_000, "comments": 5_000_000,
        "footprints": 1_000_000}
PASSWORD = "seed-password"
WRITER, VIEWER, FRIEND = "writer", "viewer", "friend"  # user ids 1, 2, 3
WRITER_ID, VIEWER_ID, FRIEND_ID = 1, 2, 3
WRITER_SHARE, WRITER_FRIENDS = 0.025, 50
VIEWER_FRIENDS, VIEWER_ENTRIES, FRIEND_ENTRIES, POPULAR_COMMENTS = 40, 20, 60, 30
MAX_FRIENDS = 1000  # the app's default PORTAL_MAX_FRIENDS
DAY = 86400.0
YEARS = 3
CHUNK = 50_000
INFO_FILE = "seed.json"

# Visibility mixes (level, weight): most entries for members or friends, some public or private.
ENTRY_LEVELS = (("public", 15), ("members", 30), ("fof", 10), ("friends", 33), ("group", 4), ("private", 8))
WRITER_LEVELS = (("public", 50), ("members", 35), ("friends", 15))
FIELD_SPECS = (  # (name, chance, visibility, searchable, values)
    ("intro", 0.9, "members", False, ("はじめまして！よろしくお願いします。", "Hi! I like photos and trains.",
                                      "写真と旅行が好きです。Nice to meet you.", "のんびり日記を書いています。")),
    ("hometown", 0.7, "public", True, ("札幌", "Sendai", "東京", "Yokohama", "名古屋", "Kyoto", "大阪", "福岡")),
    ("interests", 0.6, "members", True, ("写真, 旅行", "games, music", "料理", "reading", "サッカー", "anime")),
    ("birthday", 0.5, "friends", False, ("04-01", "07-15", "12-24", "02-29", "10-10")),
    ("school", 0.3, "fof", True, ("さくら高校", "Midori High School", "東西大学")),
)
NAMES = ("さくら", "Taro", "ゆうき", "Hana", "けんじ", "Mika", "そら", "Ken", "あおい", "Rin", "はると", "Emi")
SENTENCES = ("今日は朝から雨でした。", "駅前のカフェで本を読みました。", "週末は友だちと買い物に行きました。",
             "新しいカメラを買いました！", "仕事が忙しくて疲れた…", "夕飯はカレーにしました。",
             "久しぶりに実家に帰りました。", "映画を観てきました。すごく良かった。", "明日から出張です。",
             "ランニングを始めて一週間。", "Rain all morning.", "Read a book at the café by the station.",
             "Went shopping with friends this weekend.", "Bought a new camera!", "Made curry for dinner.",
             "Saw a great movie today.", "Off on a business trip tomorrow.", "One week of running now.")
TITLES = ("日記", "週末のこと", "Trip to Kyoto", "新しいカメラ", "料理メモ", "Rainy days", "今日の一枚",
          "Work", "ひとりごと", "Weekend", "旅行", "Good news")
COMMENTS = ("いいね！", "Nice one!", "また行こうね", "お疲れさま〜", "Looks delicious!", "わかる！", "Have fun!",
            "写真見せて！", "Me too.", "気をつけてね", "ありがとう！", "Thanks!", "今度一緒に行こう！")


def counts_for(scale):
    """Rows of each kind at ``scale``."""
    return {name: max(1, round(count * scale)) for name, count in FULL.items()}


class Progress:
    """A one-line progress bar on stderr (lines at each quarter when stderr is not a terminal)."""

    def __init__(self, label, total, enabled=True):
        self.label, self.total, self.enabled = label, max(1, total), enabled
        self.done, self.start, self.shown = 0, time.perf_counter(), -1.0
        self.tty = sys.stderr.isatty()

    def update(self, n, note=""):
        self.done += n
        if not self.enabled:
            return
        fraction = min(1.0, self.done / self.total)
        now = time.perf_counter()
        if self.tty and (now - self.shown > 0.2 or fraction == 1.0 or note):
            bar = "#" * int(fraction * 30)
            sys.stderr.write(f"\r{self.label:<16} [{bar:<30}] {fraction:4.0%} {self.done:>11,} "
                             f"{now - self.start:6.1f}s {note:<10}")
            sys.stderr.flush()
            self.shown = now
        elif not self.tty and (int(fraction * 4) > int(self.shown * 4) or note == "done"):
            print(f"{self.label:<16} {fraction:4.0%} {self.done:>11,} {now - self.start:6.1f}s {note}",
                  file=sys.stderr)
            self.shown = fraction

    def close(self):
        if self.enabled and self.tty:
            sys.stderr.write("\n")


def _chunks(rows, size):
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class Loader:
    """Bulk writes: executemany on SQLite, COPY on PostgreSQL; secondary indexes dropped while
    a table loads and built again afterwards. Remembers rows and seconds per table."""

    def __init__(self, progress=True):
        self.sqlite = isinstance(database.obj, SqliteDatabase)
        self.progress = progress
        self.timings = {}

    def load(self, model, fields, rows, total):
        """Insert ``rows`` (tuples of ``fields``) into ``model``'s table; other columns get
        their (constant) defaults."""
        table = model._meta.table_name
        extra = [f for f in model._meta.sorted_fields if f.name not in fields and not f.primary_key]
        constants = tuple(self._default(f) for f in extra)
        columns = ", ".join(f'"{model._meta.fields[name].column_name}"' for name in fields)
        columns += "".join(f', "{f.column_name}"' for f in extra)
        start = time.perf_counter()
        bar = Progress(table, total, self.progress)
        indexes = self._drop_indexes(table)
        count = 0
        with database.atomic():
            for chunk in _chunks(rows, CHUNK):
                if constants:
                    chunk = [row + constants for row in chunk]
                self._write(table, columns, len(fields) + len(extra), chunk)
                count += len(chunk)
                bar.update(len(chunk))
            bar.update(0, "indexing")
            for sql in indexes:
                database.execute_sql(sql)
        bar.update(0, "done")
        bar.close()
        self.timings[table] = (count, time.perf_counter() - start)
        return count

    @staticmethod
    def _default(field):
        if field.default is None and field.null:
            return None
        if callable(field.default) or field.default is None:
            raise ValueError(f"give {field.model.__name__}.{field.name} explicitly")
        return field.default

    def _write(self, table, columns, width, chunk):
        if self.sqlite:
            marks = ", ".join("?" * width)
            database.connection().executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', chunk)
            return
        with database.cursor() as cursor, cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
            for row in chunk:
                copy.write_row(row)

    def _drop_indexes(self, table):
        """Drop the table's secondary indexes; returns the statements that build them again."""
        if self.sqlite:
            found = database.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                         "AND tbl_name = ? AND sql IS NOT NULL", (table,)).fetchall()
        else:
            found = database.execute_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint)", (table,)).fetchall()
        for name, _sql in found:
            database.execute_sql(f'DROP INDEX "{name}"')
        return [sql for _name, sql in found]

    def timed(self, name, func):
        """Run ``func()`` (returning a row count) and remember its time under ``name``."""
        start = time.perf_counter()
        count = func()
        self.timings[name] = (count, time.perf_counter() - start)


class Seeder:
    """Generates every table from one random seed; ids follow time."""

    def __init__(self, scale, loader, random_seed=9):
        self.n = counts_for(scale)
        if self.n["users"] < 100:
            raise ValueError("scale too small: at least 100 users are needed")
        self.rng = random.Random(random_seed)
        self.loader = loader
        self.now = utcnow()
        self.start = self.now - datetime.timedelta(days=365 * YEARS)  # diaries begin; everyone joined before

    def at(self, seconds):
        """The datetime ``seconds`` after the start of the diary window."""
        return self.start + datetime.timedelta(seconds=seconds)

    @property
    def span(self):
        return (self.now - self.start).total_seconds()

    def run(self):
        """Every step in order; returns {step: seconds, generation included}."""
        steps = {}
        for step in (self.users, self.friendships, self.groups, self.profiles, self.entries,
                     self.comments, self.watches, self.months, self.footprints):
            start = time.perf_counter()
            step()
            steps[step.__name__] = round(time.perf_counter() - start, 2)
        return steps

    # --- people -------------------------------------------------------------------------------

    def users(self):
        rng, n = self.rng, self.n["users"]
        self.joined = sorted(rng.uniform(-365 * DAY, 0) for _ in range(n))  # index id - 1
        self.sociable = [0.0] + [rng.lognormvariate(0, 1) for _ in range(n)]  # index id
        self.stealth = bytearray(n + 1)
        for uid in range(4, n + 1):
            self.stealth[uid] = rng.random() < 0.03
        password_hash = generate_password_hash(PASSWORD, method="scrypt")
        special = {WRITER_ID: WRITER, VIEWER_ID: VIEWER, FRIEND_ID: FRIEND}

        def rows():
            for uid in range(1, n + 1):
                login_id = special.get(uid, f"user{uid}")
                seen = self.at(self.span - rng.uniform(0, 10 * DAY)) if rng.random() < 0.8 else None
                yield (uid, login_id, f"{NAMES[uid % len(NAMES)]}{uid}", password_hash, self.at(self.joined[uid - 1]),
                       self.at(self.span - rng.uniform(0, 30 * DAY)), not self.stealth[uid],
                       rng.random() > 0.05, seen, int(rng.expovariate(1 / 20) * self.sociable[uid]))

        self.loader.load(User, ["id", "login_id", "nickname", "password_hash", "created_at",
                                "last_login_at", "leave_footprints", "show_visitors", "footprints_seen_at",
                                "footprints_purged"], rows(), n)

    def friendships(self):
        """Pairs with locality (friends of friends exist), a long-tailed number of friends each,
        at most MAX_FRIENDS; the three fixed members get exactly their friends."""
        rng, n, target = self.rng, self.n["users"], self.n["friendships"]
        degree = array.array("i", bytes(4 * (n + 1)))
        pairs, left, right = set(), array.array("i"), array.array("i")

        def add(a, b):
            key = (min(a, b), max(a, b))
            if a == b or key in pairs or degree[a] >= MAX_FRIENDS or degree[b] >= MAX_FRIENDS:
                return False
            pairs.add(key)
            left.append(a)
            right.append(b)
            degree[a] += 1
            degree[b] += 1
            return True

        ordinary = range(4, n + 1)
        add(VIEWER_ID, FRIEND_ID)
        for uid, count in ((VIEWER_ID, VIEWER_FRIENDS - 1), (FRIEND_ID, VIEWER_FRIENDS - 1),
                           (WRITER_ID, WRITER_FRIENDS)):
            for other in rng.sample(ordinary, count):
                add(uid, other)
        cum = list(itertools.accumulate(self.sociable[4:]))
        window = max(10, min(500, n // 10))
        attempts = 0
        while len(pairs) < target:
            attempts += CHUNK
            if attempts > 5 * target + CHUNK:
                raise RuntimeError("could not place the friendships (graph too dense for the user count)")
            for a in rng.choices(ordinary, cum_weights=cum, k=CHUNK):
                if rng.random() < 0.7:  # a neighbour: friends of friends are likely friends
                    b = 4 + (a - 4 + rng.randint(1, window)) % (n - 3)
                else:
                    b = rng.choices(ordinary, cum_weights=cum)[0]
                if add(a, b) and len(pairs) >= target:
                    break
        pairs.clear()
        # Adjacency (CSR): friends of u are adjacency[offsets[u]:offsets[u + 1]].
        self.offsets = array.array("i", [0]) * (n + 2)
        for uid in range(1, n + 1):
            self.offsets[uid + 1] = self.offsets[uid] + degree[uid]
        fill = array.array("i", self.offsets)
        self.adjacency = array.array("i", bytes(4 * len(left) * 2))
        for a, b in zip(left, right, strict=True):
            self.adjacency[fill[a]] = b
            fill[a] += 1
            self.adjacency[fill[b]] = a
            fill[b] += 1
        made = [rng.uniform(max(self.joined[a - 1], self.joined[b - 1]), self.span) for a, b in zip(left, right, strict=True)]
        order = sorted(range(len(made)), key=made.__getitem__)

        def rows():
            for k in order:
                when = self.at(made[k])
                yield (left[k], right[k], when)
                yield (right[k], left[k], when)

        self.loader.load(Friendship, ["user", "friend", "created_at"], rows(), 2 * len(left))

    def friends(self, uid):
        return self.adjacency[self.offsets[uid]:self.offsets[uid + 1]]

    def groups(self):
        """A friend group (仲良し, up to 5 friends) for a fifth of the members with 3+ friends."""
        rng, n = self.rng, self.n["users"]
        self.group_of = array.array("i", bytes(4 * (n + 1)))
        self.group_members = {}
        rows = []
        for uid in range(1, n + 1):
            friends = self.friends(uid)
            forced = uid in (VIEWER_ID, FRIEND_ID)
            if len(friends) >= 3 and (forced or rng.random() < 0.2):
                members = rng.sample(list(friends), min(5, len(friends)))
                partner = {VIEWER_ID: FRIEND_ID, FRIEND_ID: VIEWER_ID}.get(uid)
                if partner and partner not in members:
                    members[0] = partner
                self.group_of[uid] = len(rows) + 1
                self.group_members[uid] = members
                rows.append((len(rows) + 1, uid, "仲良し", self.start))
        self.loader.load(FriendGroup, ["id", "owner", "name", "created_at"], rows, len(rows))
        members = [(self.group_of[uid], friend) for uid, friends in self.group_members.items() for friend in friends]
        self.loader.load(FriendGroupMember, ["group", "friend"], members, len(members))

    def profiles(self):
        rng, n = self.rng, self.n["users"]

        def rows():
            for uid in range(1, n + 1):
                for name, chance, level, searchable, values in FIELD_SPECS:
                    if uid <= 3 or rng.random() < chance:
                        yield (uid, name, values[uid % len(values)], level, searchable)

        total = round(n * sum(spec[1] for spec in FIELD_SPECS))
        self.loader.load(ProfileField, ["user", "name", "value", "visibility", "searchable"], rows(), total)

    # --- diary --------------------------------------------------------------------------------

    def entries(self):
        """Entries in time order; owners long-tailed; comment counts planned here (so the
        counter column is right from the start) and the comments written to match."""
        rng, n, total = self.rng, self.n["users"], self.n["entries"]
        ordinary = range(4, n + 1)
        weights = list(itertools.accumulate(self.sociable[uid] ** 0.5 * rng.lognormvariate(0, 1)
                                            for uid in ordinary))
        owners = array.array("i")
        for start in range(0, total, CHUNK):
            owners.extend(rng.choices(ordinary, cum_weights=weights, k=min(CHUNK, total - start)))
        writer_count = max(1, round(total * WRITER_SHARE))
        places = rng.sample(range(total), writer_count + VIEWER_ENTRIES + FRIEND_ENTRIES)
        for k, place in enumerate(places):
            owners[place] = (WRITER_ID if k < writer_count else
                             VIEWER_ID if k < writer_count + VIEWER_ENTRIES else FRIEND_ID)
        self.popular = 1 + max(places[writer_count + VIEWER_ENTRIES:])  # the friend's newest entry
        step = self.span / total
        self.times = array.array("d", ((k + rng.random() * 0.9) * step for k in range(total)))
        levels, level_cum = [level for level, _w in ENTRY_LEVELS], list(itertools.accumulate(w for _l, w in ENTRY_LEVELS))
        writer_levels = [level for level, _w in WRITER_LEVELS]
        writer_cum = list(itertools.accumulate(w for _l, w in WRITER_LEVELS))
        self.levels = []
        self.allowed = bytearray(total)
        popularity = []
        for k, owner in enumerate(owners):
            if owner == WRITER_ID:
                level = rng.choices(writer_levels, cum_weights=writer_cum)[0]
            else:
                level = rng.choices(levels, cum_weights=level_cum)[0]
            if level == "group" and not self.group_of[owner]:
                level = "friends"
            if k + 1 == self.popular:
                level = "members"
            self.levels.append(level)
            allowed = k + 1 == self.popular or rng.random() < 0.97
            self.allowed[k] = allowed
            open_ = allowed and level != "private" and k + 1 != self.popular
            popularity.append(self.sociable[owner] * rng.lognormvariate(0, 0.8) if open_ else 0.0)
        self.owners = owners
        self.comment_counts = array.array("i", bytes(4 * total))
        cum = list(itertools.accumulate(popularity))
        to_place = self.n["comments"] - POPULAR_COMMENTS
        for start in range(0, to_place, CHUNK):
            for k in rng.choices(range(total), cum_weights=cum, k=min(CHUNK, to_place - start)):
                self.comment_counts[k] += 1
        self.comment_counts[self.popular - 1] = POPULAR_COMMENTS
        self.last_entry = {}
        bodies = ["".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 12))) for _ in range(4096)]

        def rows():
            for k in range(total):
                owner, level, when = owners[k], self.levels[k], self.at(self.times[k])
                self.last_entry[owner] = k + 1
                yield (k + 1, owner, f"{TITLES[k % len(TITLES)]} #{k + 1}", bodies[k % len(bodies)], level,
                       self.group_of[owner] if level == "group" else None, bool(self.allowed[k]),
                       self.comment_counts[k], when, when)

        self.loader.load(DiaryEntry, ["id", "owner", "title", "body", "visibility", "group", "allow_comments",
                                      "comment_count", "created_at", "updated_at"], rows(), total)

    def commenters(self, owner, level):
        """A member who may see an entry of ``owner`` at ``level`` (the owner when nobody else may)."""
        rng = self.rng
        if level in ("public", "members") and rng.random() < 0.2:
            other = rng.randint(1, self.n["users"])
            return other if other != owner else owner
        pool = self.group_members.get(owner, ()) if level == "group" else self.friends(owner)
        return pool[rng.randrange(len(pool))] if len(pool) else owner

    def comments(self):
        """Comments in time order (a heap merges each entry's comments into the stream), and
        the comment watches they imply, kept in arrays for the next table."""
        rng, total = self.rng, self.n["entries"]
        self.watch_user, self.watch_entry = array.array("i"), array.array("i")
        self.watch_seen = array.array("d")
        span = self.span

        def rows():
            heap = []
            for k in range(total):
                t_entry = self.times[k]
                while heap and heap[0][0] <= t_entry:
                    t, entry_id, author, body = heapq.heappop(heap)
                    yield (entry_id, author, body, self.at(t))
                owner, level, count = self.owners[k], self.levels[k], self.comment_counts[k]
                times = []
                for _ in range(count):
                    delay = rng.expovariate(1 / (8 * 3600)) if rng.random() < 0.9 else rng.uniform(0, 30 * DAY)
                    if t_entry + delay > span:
                        delay = (span - t_entry) * rng.random()
                    times.append(t_entry + delay)
                times.sort()
                watchers = {owner: t_entry}
                for j, t in enumerate(times):
                    author = owner if j and rng.random() < 0.3 else self.commenters(owner, level)
                    watchers[author] = t
                    heapq.heappush(heap, (t, k + 1, author, COMMENTS[rng.randrange(len(COMMENTS))]))
                if times and span - times[-1] > 2 * DAY:  # the owner has read the comments since
                    watchers[owner] = max(watchers[owner], times[-1] + rng.uniform(0, DAY))
                for user, seen in watchers.items():
                    self.watch_user.append(user)
                    self.watch_entry.append(k + 1)
                    self.watch_seen.append(seen)
            while heap:
                t, entry_id, author, body = heapq.heappop(heap)
                yield (entry_id, author, body, self.at(t))

        self.loader.load(DiaryComment, ["entry", "author", "body", "created_at"], rows(), self.n["comments"])

    def watches(self):
        def rows():
            for user, entry, seen in zip(self.watch_user, self.watch_entry, self.watch_seen, strict=True):
                yield (user, entry, self.at(seen))

        self.loader.load(CommentWatch, ["user", "entry", "seen_at"], rows(), len(self.watch_user))
        del self.watch_user, self.watch_entry, self.watch_seen

    def months(self):
        def rebuild():
            rebuild_months()
            return DiaryMonth.select().count()

        self.loader.timed("diary_month", rebuild)

    # --- footprints ---------------------------------------------------------------------------

    def footprints(self):
        """Distinct (owner, visitor) pairs, owners long-tailed, half the visitors friends; no
        stealth visitor; all younger than the 30-day retention."""
        rng, n, target = self.rng, self.n["users"], self.n["footprints"]
        ids = range(1, n + 1)
        cum = list(itertools.accumulate(self.sociable[1:]))
        cap = n // 4
        per_owner = Counter()
        placed, attempts = 0, 0
        while placed < target and attempts < 50:
            attempts += 1
            for owner in rng.choices(ids, cum_weights=cum, k=target - placed):
                if per_owner[owner] < cap:
                    per_owner[owner] += 1
                    placed += 1
        found = []
        for owner, count in per_owner.items():
            friends, visitors, tries = self.friends(owner), set(), 0
            while len(visitors) < count and tries < 20 * count + 100:
                tries += 1
                if len(friends) and rng.random() < 0.5:
                    visitor = friends[rng.randrange(len(friends))]
                else:
                    visitor = rng.randint(1, n)
                if visitor != owner and not self.stealth[visitor]:
                    visitors.add(visitor)
            for visitor in visitors:
                entry = self.last_entry.get(owner)
                kind, object_id = ("diary", entry) if entry and rng.random() < 0.4 else ("profile", owner)
                found.append((self.span - rng.uniform(60, 29 * DAY), owner, visitor, kind, object_id,
                              1 + int(rng.expovariate(0.5))))
        found.sort()

        def rows():
            for when, owner, visitor, kind, object_id, visits in found:
                yield (owner, visitor, kind, object_id, self.at(when), visits)

        self.loader.load(Footprint, ["owner", "visitor", "kind", "object_id", "visited_at", "visits"],
                         rows(), len(found))


CHECKS = {  # name -> SQL counting rows that break a rule the app keeps (each must be 0)
    "comment_count = its comments": "SELECT COUNT(*) FROM diary_entry e WHERE e.comment_count <> "
                                    "(SELECT COUNT(*) FROM diary_comment c WHERE c.entry_id = e.id)",
    "archive counts = entries": "SELECT (SELECT COUNT(*) FROM diary_entry) - (SELECT SUM(count) FROM diary_month)",
    "friendships both ways": "SELECT COUNT(*) FROM friendship f WHERE NOT EXISTS (SELECT 1 FROM friendship g "
                             "WHERE g.user_id = f.friend_id AND g.friend_id = f.user_id)",
    "at most 1000 friends": "SELECT COUNT(*) FROM (SELECT user_id FROM friendship GROUP BY user_id "
                            "HAVING COUNT(*) > 1000) x",
    "owners watch their entries": "SELECT COUNT(*) FROM diary_entry e WHERE NOT EXISTS (SELECT 1 FROM "
                                  "comment_watch w WHERE w.entry_id = e.id AND w.user_id = e.owner_id)",
    "commenters watch the entry": "SELECT COUNT(*) FROM diary_comment c WHERE NOT EXISTS (SELECT 1 FROM "
                                  "comment_watch w WHERE w.entry_id = c.entry_id AND w.user_id = c.author_id)",
    "commenters may see the entry": (
        "SELECT COUNT(*) FROM diary_comment c JOIN diary_entry e ON e.id = c.entry_id "
        "WHERE c.author_id <> e.owner_id AND (e.visibility = 'private' OR NOT e.allow_comments "
        "OR (e.visibility IN ('friends', 'fof') AND NOT EXISTS (SELECT 1 FROM friendship f "
        "WHERE f.user_id = e.owner_id AND f.friend_id = c.author_id)) "
        "OR (e.visibility = 'group' AND NOT EXISTS (SELECT 1 FROM friend_group_member m "
        "WHERE m.group_id = e.group_id AND m.friend_id = c.author_id)))"),
    "comments after their entry": "SELECT COUNT(*) FROM diary_comment c JOIN diary_entry e ON e.id = c.entry_id "
                                  "WHERE c.created_at < e.created_at",
    "comment ids follow time": "SELECT COUNT(*) FROM (SELECT created_at < LAG(created_at) OVER "
                               "(PARTITION BY entry_id ORDER BY id) AS bad FROM diary_comment) x WHERE bad",
    "entry ids follow time": "SELECT COUNT(*) FROM (SELECT created_at < LAG(created_at) OVER "
                             "(ORDER BY id) AS bad FROM diary_entry) x WHERE bad",
    "no stealth or own footprints": "SELECT COUNT(*) FROM footprint f JOIN \"user\" u ON u.id = f.visitor_id "
                                    "WHERE NOT u.leave_footprints OR f.visitor_id = f.owner_id",
    "group entries have a group": "SELECT COUNT(*) FROM diary_entry WHERE (visibility = 'group') <> "
                                  "(group_id IS NOT NULL)",
}


def check():
    """{rule: rows breaking it} over the whole database (all zero when consistent)."""
    found = {name: database.execute_sql(sql).fetchone()[0] or 0 for name, sql in CHECKS.items()}
    retention = utcnow() - datetime.timedelta(days=30)
    found["footprints within retention"] = Footprint.select().where(Footprint.visited_at < retention).count()
    return found


def open_app(data_dir, database_url=None, **config):
    """The app on the database of ``data_dir`` (or ``database_url``), schema up to date."""
    settings = {"DATA_DIR": str(data_dir), "SECRET_KEY": "bench-" + str(data_dir), **config}
    if database_url:
        settings["DATABASE_URL"] = database_url
    app = create_app(settings)
    db.upgrade()
    return app


def database_bytes():
    """Size of the database: the SQLite file (with WAL), or the PostgreSQL schema's tables."""
    if isinstance(database.obj, SqliteDatabase):
        path = Path(database.obj.database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return int(database.execute_sql(
        "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' "
        "AND c.relnamespace = current_schema()::regnamespace").fetchone()[0] or 0)


def seed(data_dir, scale=1.0, database_url=None, progress=True, random_seed=9):
    """Build the database of ``data_dir`` at ``scale``; returns (and saves as seed.json) what was made."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    app = open_app(data_dir, database_url)
    started = time.perf_counter()
    with app.app_context(), database.connection_context():
        if User.select().exists():
            raise SystemExit(f"the database of {data_dir} is not empty: seed a fresh one")
        sqlite = isinstance(database.obj, SqliteDatabase)
        if sqlite:
            for pragma in ("journal_mode = MEMORY", "synchronous = OFF", "cache_size = -400000"):
                database.execute_sql(f"PRAGMA {pragma}")
        loader = Loader(progress)
        seeder = Seeder(scale, loader, random_seed)
        steps = seeder.run()
        if sqlite:
            database.execute_sql("PRAGMA journal_mode = WAL")
        else:
            for model in (User, FriendGroup, DiaryEntry):
                table = model._meta.table_name
                database.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                     f"(SELECT MAX(id) FROM \"{table}\"))")
            loader.timed("analyze", lambda: database.execute_sql("ANALYZE") and 0)
        info = {"scale": scale, "counts": seeder.n, "friendship_rows": 2 * seeder.n["friendships"],
                "timings": {name: {"rows": rows, "seconds": round(seconds, 2)}
                            for name, (rows, seconds) in loader.timings.items()}, "steps": steps,
                "seconds": round(time.perf_counter() - started, 1), "bytes": database_bytes(),
                "password": PASSWORD, "writer": WRITER, "viewer": VIEWER, "friend": FRIEND,
                "popular_entry": seeder.popular, "database": app.config["DATABASE_URL"].rpartition("@")[2],
                "seeded_at": seeder.now.isoformat(), "complete": True}
    (data_dir / INFO_FILE).write_text(json.dumps(info, indent=1))
    return info


def load_info(data_dir):
    """What ``seed`` saved for ``data_dir``, or None when it never finished there."""
    path = Path(data_dir) / INFO_FILE
    return json.loads(path.read_text()) if path.exists() else None


def print_info(info):
    """Rows and seconds (insert + index build) per table; seconds per step with the generation
    of the rows in Python; the total and the database size."""
    for table, row in info["timings"].items():
        rows = f"{row['rows']:>11,} rows" if row["rows"] else f"{'':>16}"
        print(f"{table:<22} {rows} {row['seconds']:8.1f} s{' to insert and index' if row['rows'] else ''}")
    print("steps with generation: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in info["steps"].items()))
    print(f"{'total':<22} {'':>16} {info['seconds']:8.1f} s")
    print(f"{'database size':<22} {info['bytes'] / 2**20:>11,.0f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="where the SQLite database (and seed.json) go")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (default 1.0)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead (default: DATABASE_URL, "
                                                            "else SQLite in the data dir)")
    parser.add_argument("--seed", type=int, default=9, help="random seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--check", action="store_true", help="then check that counters and rules hold")
    args = parser.parse_args()
    info = seed(args.data_dir, args.scale, args.database_url, progress=not args.quiet, random_seed=args.seed)
    print(f"seeded {args.data_dir} at scale {args.scale} ({info['database']})")
    print_info(info)
    if not args.check:
        return 0
    with open_app(args.data_dir, args.database_url).app_context(), database.connection_context():
        broken = check()
    for name, count in broken.items():
        print(f"check: {name:<40} {'ok' if not count else f'{count:,} rows break it'}")
    return 1 if any(broken.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
