"""Resident memory of a portal server after 10,000 mixed requests from phones and PCs.

Run: python benchmarks/memory.py [--requests 10000] [--connections 8]
Starts the real ``portal serve`` (waitress, 8 threads) on a fresh SQLite database with demo
content, logs in docomo handsets and desktop browsers as different members; each finds the
pages it can see by following links from home (profiles, diaries, entries, comments, albums,
photos and their pictures, messages, footprints, friends, voices...), then revisits them, all
clients at once from threads over keep-alive connections, until ``--requests`` GETs (the
crawl's included) have been sent. Prints the
server's VmRSS (from /proc/PID/status) right after start, after the logins and after the
load, and the peak (VmHWM), against the 64 MB limit.
"""
import argparse
import re
import threading
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import report  # noqa: E402
from serving import (CONNECTIONS, DOCOMO_UA, PC_UA, crawl, logged_in_clients, portal_server,  # noqa: E402
                     proc_status, run_load, seed_portal)

LIMIT_MB = 64
CATEGORIES = [("home", r"^/(\?|$)"), ("profiles", r"^/u/[^/]+(/(about|introductions)|$|\?)"),
              ("diary lists", r"^/(u/[^/]+/)?diary/?(\?|$)|^/diary/commented"), ("entries", r"^/diary/\d+"),
              ("photos pages", r"^/(photos|albums|u/[^/]+/albums)"), ("pictures", r"^/media/"),
              ("messages", r"^/messages"), ("voices", r"^/voice"), ("friends", r"friends"),
              ("footprints", r"^/footprints")]


def category(path):
    for name, pattern in CATEGORIES:
        if re.search(pattern, path):
            return name
    return "other"


def merge(first, second):
    """One LoadResult of two runs one after the other."""
    first.requests += second.requests
    first.seconds += second.seconds
    first.statuses.update(second.statuses)
    first.errors.update(second.errors)
    first.bytes += second.bytes
    first.latencies.extend(second.latencies)
    first.client_cpu += second.client_cpu
    first.server_cpu += second.server_cpu
    return first


def discover(clients, limit, starts):
    """Each client crawls from ``starts`` in its own thread: ({client: pages}, requests sent)."""
    found, counts = {}, []

    def run(client):
        found[client], fetched = crawl(client, starts, limit=limit)
        counts.append(fetched)

    threads = [threading.Thread(target=run, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    return found, sum(counts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--pages", type=int, default=100, help="crawl requests per client")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="portal-memory-"))
    try:
        info = seed_portal(folder)
        with portal_server(folder) as server:
            at_start = server.rss_kb()
            members = info["users"][1:9]
            half = max(1, args.connections // 2)
            phones = logged_in_clients(server.port, members, DOCOMO_UA, half)
            pcs = logged_in_clients(server.port, members[::-1], PC_UA, max(1, args.connections - half))
            after_login = server.rss_kb()
            started = time.perf_counter()
            starts = ["/", "/diary/", "/photos/", "/messages/", f"/u/{info['users'][0]}/albums"]
            found, crawled = discover(phones + pcs, args.pages, starts)
            after_crawl = server.rss_kb()
            pages = sum(map(len, found.values()))
            print(f"crawl: {crawled} requests by {args.connections} clients found {pages} pages "
                  f"({crawled - pages} answered other than 200, e.g. redirects) in {time.perf_counter() - started:.1f} s",
                  flush=True)
            mix = Counter(category(path) for paths in found.values() for path in paths)
            print("  by kind: " + ", ".join(f"{name} {n}" for name, n in mix.most_common()))
            # In four parts, to see whether memory levels off or keeps growing.
            left, result, steps = args.requests - crawled, None, []
            for part in range(4):
                share = left // (4 - part)
                left -= share
                step = run_load(phones + pcs, lambda client: found[client], duration=900,
                                max_requests=share, warmup=0, server=server)
                steps.append((crawled + args.requests - crawled - left, server.rss_kb()))
                result = step if result is None else merge(result, step)
            print(f"  then: {result.summary()}", flush=True)
            result.requests += crawled
            after_load = server.rss_kb()
            peak = proc_status(server.pid, "VmHWM")
            for client in phones + pcs:
                client.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print()
    report("portal RSS right after start (MB)", at_start / 1024, unit=" MB")
    report("portal RSS after the logins (MB)", after_login / 1024, unit=" MB")
    report(f"portal RSS after the crawl, {crawled:,} requests (MB)", after_crawl / 1024, unit=" MB")
    for sent, rss in steps[:-1]:
        report(f"portal RSS after {sent:,} requests (MB)", rss / 1024, unit=" MB")
    ok = report(f"portal RSS after {result.requests:,} mixed requests (MB)", after_load / 1024,
                limit=LIMIT_MB, unit=" MB")
    report("portal peak RSS, VmHWM (MB)", peak / 1024, unit=" MB")
    ok &= report("requests sent", result.requests, unit="") and result.requests == args.requests
    ok &= report("non-2xx responses or failed requests", result.failures, limit=0, unit="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
