"""Shared helpers for the benchmarks: a throwaway app, timing, printing ratios."""
import statistics
import tempfile
import time
from pathlib import Path

from portal import create_app, db

UA_PC = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def make_app(tmp=None, **config):
    """An app on a fresh SQLite database in a temporary folder (or ``tmp``)."""
    folder = Path(tmp or tempfile.mkdtemp(prefix="portal-bench-"))
    app = create_app({"DATA_DIR": str(folder), "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "scrypt:4096:8:1", **config})
    db.upgrade()
    return app, folder


def median_time(func, repeat=30, warmup=3):
    """Median seconds of ``func()`` over ``repeat`` runs."""
    for _ in range(warmup):
        func()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def report(name, value, limit=None, unit="×"):
    """Print one result line; with ``limit``, say whether it is within it."""
    verdict = "" if limit is None else ("  ok" if value <= limit else f"  OVER (limit {limit}{unit})")
    print(f"{name:<60} {value:8.2f}{unit}{verdict}")
    return limit is None or value <= limit
