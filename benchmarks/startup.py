"""Start-up time of ``portal serve``: from launching the command to GET /healthz answering 200.

Run: python benchmarks/startup.py [--repeat 5]
Each run launches the real command in a child process on a free port and polls /healthz
every 5 ms. First with a fresh, empty PORTAL_DATA_DIR each time (secret key, database and
every migration made on the way), then on a data folder whose database is already
initialised. For comparison, the same wait for a bare Flask app under waitress and for
``python -c pass``. Prints the median and the slowest run against the 1.5 s limit (the
limit decides on the median; the slowest is shown for the noise of a shared machine).
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import report  # noqa: E402
from serving import hello_server, portal_command, portal_env, portal_server, proc_cpu_seconds  # noqa: E402

LIMIT = 1.5
FRESH, READY, HELLO = ("portal serve, empty data folder", "portal serve, initialised database",
                       "for comparison: bare Flask under waitress")


CPU = {}  # run name -> CPU seconds the server had used when it answered


def time_ready(server, name=None):
    """Seconds from launch to /healthz answering 200; the server is stopped after."""
    server.start()
    try:
        seconds = server.wait_ready("/healthz", timeout=60)
        if name:
            CPU.setdefault(name, []).append(proc_cpu_seconds(server.pid))
        return seconds
    finally:
        server.stop()


def fresh_runs(repeat):
    times = []
    for _ in range(repeat):
        folder = Path(tempfile.mkdtemp(prefix="portal-startup-"))
        try:
            times.append(time_ready(portal_server(folder / "data"), FRESH))  # no folder yet
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return times


def initialised_runs(repeat):
    folder = Path(tempfile.mkdtemp(prefix="portal-startup-"))
    try:
        subprocess.run(portal_command() + ["init"], env=portal_env(folder), check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        return [time_ready(portal_server(folder), READY) for _ in range(repeat)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def interpreter_runs(repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
        times.append(time.perf_counter() - started)
    return times


def show(name, times, limit=None):
    cpu = f"; CPU used by then: {', '.join(f'{t:.2f}' for t in CPU[name])} s" if name in CPU else ""
    print(f"  {name}: " + ", ".join(f"{t:.2f}" for t in times) + " s" + cpu)
    ok = report(f"{name}: median (s)", statistics.median(times), limit=limit, unit=" s")
    report(f"{name}: slowest (s)", max(times), unit=" s")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ok = show(FRESH, fresh_runs(args.repeat), LIMIT)
    ok &= show(READY, initialised_runs(args.repeat), LIMIT)
    show(HELLO, [time_ready(hello_server(), HELLO) for _ in range(args.repeat)])
    show("for comparison: python -c pass", interpreter_runs(args.repeat))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
