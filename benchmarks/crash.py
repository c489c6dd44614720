"""Kill the server with SIGKILL under load, again and again: after each restart the database
is intact, every write acknowledged before the kill is there, and every picture a row names
has its file.

Run: python benchmarks/crash.py [--rounds 10] [--seconds 10] [--clients 32] [--users 40]
The load of load.py (pictures included) on one data dir in /tmp; in each round the members
log in again and the server is killed at a random moment (0.3 s to --seconds after the
logins; with --during-login, also while they log in), restarted on the same data dir, and checked: PRAGMA integrity_check, the acknowledged writes
of every round so far, the files of photos, diary pictures, album covers and profile pictures.
Prints one line per round and a total; exits 1 on any failure.
"""
import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import loadgen  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="how many times the server is killed")
    parser.add_argument("--seconds", type=float, default=10.0, help="longest load before a kill")
    parser.add_argument("--during-login", action="store_true",
                        help="kill at a moment counted from the start, logins included")
    args = loadgen.parse_arguments(parser, argv, "random seed (kill moments and clients)")
    rng = random.Random(args.seed)

    data_dir = Path(tempfile.mkdtemp(prefix="portal-crash-"))
    loadgen.seed(data_dir, args.users)
    server = loadgen.Server(data_dir, threads=args.threads)
    ledger = loadgen.Ledger()
    totals = {"requests": 0, "5xx": 0, "locked": 0, "lost": 0, "integrity": 0, "missing": 0, "unexpected": 0}
    try:
        server.start()
        for round_no in range(1, args.rounds + 1):
            stats, stop, ready = loadgen.Stats(), threading.Event(), threading.Event()
            log_from, acked_before = server.log_size(), len(ledger)
            kill_after = rng.uniform(0.3, max(0.4, args.seconds))
            load = threading.Thread(target=loadgen.run_load, daemon=True, args=(
                server.port, args.clients, args.users, args.seconds + 600, ledger, stats, stop,
                rng.random(), ready))
            load.start()
            if not args.during_login and not ready.wait(timeout=300):
                raise RuntimeError("the members did not log in within 300 s")
            time.sleep(kill_after)
            stop.set()  # from here on a lost connection is expected
            server.kill()
            load.join(timeout=180)
            if load.is_alive():
                raise RuntimeError("the members did not stop within 180 s of the kill")
            log = server.log_since(log_from)
            server.start()
            verdict = loadgen.verify(data_dir, ledger)
            locked = loadgen.locked_lines(log)
            bad_integrity = verdict.integrity != "ok"
            for key, value in (("requests", stats.requests), ("5xx", len(stats.server_errors)),
                               ("locked", locked), ("lost", len(verdict.lost)), ("integrity", int(bad_integrity)),
                               ("missing", len(verdict.missing_files)), ("unexpected", len(stats.unexpected))):
                totals[key] += value
            print(f"round {round_no}: killed after {kill_after:4.1f} s; requests {stats.requests}, "
                  f"acked {len(ledger) - acked_before} (total {len(ledger)}), lost {len(verdict.lost)}, "
                  f"integrity {verdict.integrity}, missing files {len(verdict.missing_files)} "
                  f"of {verdict.media_rows}, 5xx {len(stats.server_errors)}, locked {locked}, "
                  f"unexpected {len(stats.unexpected)}", flush=True)
            loadgen.print_problems(stats, verdict, 3)
        server.stop()
    finally:
        server.kill()

    failed = any(totals[key] for key in ("5xx", "locked", "lost", "integrity", "missing", "unexpected"))
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(ledger.kinds().items()))
    print(f"writes acked by kind: {kinds}")
    print(f"crash: rounds {args.rounds}, requests {totals['requests']}, acked writes {len(ledger)}, "
          f"lost {totals['lost']}, integrity failures {totals['integrity']}, missing files {totals['missing']}, "
          f"5xx {totals['5xx']}, locked {totals['locked']}  {'FAILED' if failed else 'ok'}")
    return loadgen.finish(data_dir, server, failed, args.keep)


if __name__ == "__main__":
    sys.exit(main())
