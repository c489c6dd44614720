"""Requests per second of the portal's busiest pages vs a bare Flask app, both under waitress.

Run: python benchmarks/throughput.py [--seconds 10] [--connections 8] [--threads 8]
A bare Flask "hello" app is served by waitress (same thread count as the portal) and
loaded before and after the portal; their mean is the baseline, their difference the
drift of the machine during the run. The portal is the real ``portal serve`` on a fresh
SQLite database (demo content, more entries and voices, one entry with 20 comments), in
its own process. Each load is ``--connections`` keep-alive clients in threads, logged in
through the login form (docomo handsets keep the session cookie; the same page with the
token in ``?sid=`` instead, and a logged-in page without content, are shown for comparison),
for ``--seconds`` (after a second of warm-up). Prints requests per second and each page's
ratio to the baseline with its limit; the same ratio by the server's CPU time per request,
steadier when other work shares the machine; and the non-2xx responses (must be 0).

Reloads of the same page are what the page cache (portal/pagecache.py) serves; the same three
pages are then loaded from a second server with the cache off (``PORTAL_PAGE_CACHE_SECONDS=0``),
which is what every first view, and every view after a change, costs.
"""
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import report  # noqa: E402
from serving import (CONNECTIONS, DOCOMO_UA, PC_UA, THREADS, Client, hello_server,  # noqa: E402
                     logged_in_clients, portal_server, report_at_least, run_load, seed_portal)


JUMP = "/jump?url=https%3A%2F%2Fexample.org%2F"  # logged in, only the user and the unread count


def hello_rps(args, label):
    """One load of the bare app; returns the LoadResult."""
    with hello_server(threads=args.threads) as server:
        clients = [Client(server.port, PC_UA) for _ in range(args.connections)]
        result = run_load(clients, ["/"], duration=args.seconds, server=server)
        for client in clients:
            client.close()
    print(f"  baseline {label}: {result.summary()}", flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--threads", type=int, default=THREADS, help="waitress threads of both servers")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="portal-throughput-"))
    try:
        started = time.perf_counter()
        info = seed_portal(folder)
        print(f"seeded {len(info['users'])} demo users and more content in {time.perf_counter() - started:.1f} s; "
              f"{args.connections} connections, {args.threads} waitress threads, {args.seconds:g} s a target",
              flush=True)
        before = hello_rps(args, "before")
        results = {}
        with portal_server(folder, threads=args.threads) as server:
            members = info["users"][1:9]  # demo2..demo9: friends, feeds and notices of their own
            mobile = logged_in_clients(server.port, members, DOCOMO_UA, args.connections)
            cookieless = logged_in_clients(server.port, members, DOCOMO_UA, args.connections, cookies=False)
            pc = logged_in_clients(server.port, members, PC_UA, args.connections)
            entry = f"/diary/{info['entry']}"
            targets = [("mobile home (docomo, cookie)", mobile, "/", 0.40),
                       ("PC home", pc, "/", 0.35),
                       ("entry with 20 comments (PC)", pc, entry, 0.35),
                       ("for comparison: mobile home (docomo, ?sid=)", cookieless, "/", None),
                       ("for comparison: PC page without content (/jump)", pc, JUMP, None)]
            for name, clients, path, limit in targets:
                results[name] = (run_load(clients, [path], duration=args.seconds, server=server), limit)
                print(f"  {name}: {results[name][0].summary()}", flush=True)
            rss = server.rss_kb()
            for client in mobile + cookieless + pc:
                client.close()
        with portal_server(folder, threads=args.threads, PORTAL_PAGE_CACHE_SECONDS="0") as server:
            mobile = logged_in_clients(server.port, members, DOCOMO_UA, args.connections)
            pc = logged_in_clients(server.port, members, PC_UA, args.connections)
            for name, clients, path in [("mobile home", mobile, "/"), ("PC home", pc, "/"),
                                        ("entry with 20 comments", pc, entry)]:
                name = f"for comparison, cache off: {name}"
                results[name] = (run_load(clients, [path], duration=args.seconds, server=server), None)
                print(f"  {name}: {results[name][0].summary()}", flush=True)
            for client in mobile + pc:
                client.close()
        after = hello_rps(args, "after")
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    baseline = (before.rps + after.rps) / 2
    baseline_cpu = (before.server_cpu_ms + after.server_cpu_ms) / 2
    print()
    print("all pages logged in; ratios are req/s of the page / req/s of the baseline (higher is better)")
    report("baseline: bare Flask under waitress, mean (req/s)", baseline, unit=" /s")
    report("baseline drift, after vs before (%)", (after.rps - before.rps) / before.rps * 100, unit=" %")
    report("baseline server CPU per request (ms)", baseline_cpu, unit=" ms")
    if abs(after.rps - before.rps) > 0.25 * before.rps:
        print("the baseline moved by more than 25%: the machine was busy; the CPU ratios below are steadier")
    ok = True
    for name, (result, limit) in results.items():
        report(f"{name} (req/s)", result.rps, unit=" /s")
        ok &= report_at_least(f"{name} / baseline", result.rps / baseline, limit)
    print("the same by server CPU time per request (baseline ms / page ms; steadier when the machine is busy)")
    for name, (result, limit) in results.items():
        report_at_least(f"{name} / baseline (CPU)", baseline_cpu / max(result.server_cpu_ms, 1e-9), limit)
    report("portal resident memory after the loads (MB)", rss / 1024, unit=" MB")
    failures = sum(result.failures for result, _ in results.values()) + before.failures + after.failures
    ok &= report("non-2xx responses or failed requests", failures, limit=0, unit="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
