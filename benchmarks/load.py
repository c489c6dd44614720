"""Mixed reads and writes from many members at once against a real server: no errors, no
"database is locked", no acknowledged write lost.

Run: python benchmarks/load.py [--seconds 60] [--clients 32] [--users 40] [--threads 8]
Starts ``portal serve`` on 127.0.0.1 (a free port) over a fresh data dir in /tmp seeded with
``portal demo``; each client logs in as its own demo user through the login form (PCs, a
smartphone and handsets, one of them without cookies) and posts diary entries (some with
pictures), comments, likes, messages, albums, photos and profile pictures, leaves footprints
and reads pages. Then it checks the server's answers and log, and the database file against
every write the server acknowledged. Prints one summary line; exits 1 on any failure.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import loadgen  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load runs")
    args = loadgen.parse_arguments(parser, argv, "random seed of the clients")

    data_dir = Path(tempfile.mkdtemp(prefix="portal-load-"))
    loadgen.seed(data_dir, args.users)
    server = loadgen.Server(data_dir, threads=args.threads)
    ledger, stats = loadgen.Ledger(), loadgen.Stats()
    try:
        server.start()
        started = time.monotonic()
        members = loadgen.run_load(server.port, args.clients, args.users, args.seconds, ledger, stats,
                                   seed=args.seed)
        elapsed = time.monotonic() - started
        server.stop()
        verdict = loadgen.verify(data_dir, ledger)
        log = server.log_since()
    finally:
        server.kill()

    locked = loadgen.locked_lines(log)
    tracebacks = log.count("Traceback (most recent call last)")
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(ledger.kinds().items()))
    print(f"members logged in {members}/{args.clients}; writes acked by kind: {kinds}")
    print(f"statuses: {dict(sorted(stats.statuses.items()))}; connection errors {stats.connection_errors}; "
          f"unexpected answers {len(stats.unexpected)}; tracebacks in log {tracebacks}; "
          f"integrity {verdict.integrity}; media rows {verdict.media_rows}, missing files "
          f"{len(verdict.missing_files)}")
    loadgen.print_problems(stats, verdict, 5)
    failed = (stats.server_errors or locked or verdict.lost or verdict.integrity != "ok"
              or verdict.missing_files or members < args.clients or stats.unexpected or stats.connection_errors)
    print(f"load {args.clients} clients {elapsed:.0f} s: requests {stats.requests} "
          f"({stats.requests / elapsed:.0f}/s), writes acked {len(ledger)}, 5xx {len(stats.server_errors)}, "
          f"locked {locked}, writes lost {len(verdict.lost)}  {'FAILED' if failed else 'ok'}")
    return loadgen.finish(data_dir, server, failed, args.keep)


if __name__ == "__main__":
    sys.exit(main())
