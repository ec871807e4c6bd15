"""`make run`: the web server, two Celery workers, the sweeper and the beat, supervised, as one command.

Everything runs on SQLite under var/ (data, and kombu's SQLAlchemy broker). Ctrl-C stops all.

The workers use the **threads** pool, not billiard's processes: on the embedded broker Celery
can only run billiard's pool from a thread, and an idle pool child killed while it held the
pool's shared lock left the worker blocked forever, taking no task and sending no message
(issue 14). Threads have no child to lose: a killed worker is a dead process, and this
supervisor starts it again (the other worker carries on meanwhile). What the dead worker had taken from the
embedded broker (which never redelivers) is recovered by the deadline sweep and the outbox's
retry sweep. The beat runs as a process of its own, so the clocks keep their schedule while a
worker restarts. If the web server exits, everything stops; a worker or beat that keeps dying
(``GIVE_UP_AFTER`` restarts in a minute) stops everything too, rather than loop silently.

    python scripts/run_dev.py [--no-web]      # --no-web: worker and beat only (tests, benches)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import deque

PY = sys.executable
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
GIVE_UP_AFTER = 10  # restarts of one process within RESTART_WINDOW seconds
RESTART_WINDOW = 60.0

CELERY = [PY, "-m", "celery", "-A", "escalportal"]
COMMANDS = {
    "web": [PY, "manage.py", "runserver", f"{HOST}:{PORT}"],
    # Two workers of two threads on the 'celery' queue: a slow SMTP server or webhook holds one
    # thread, and while one worker restarts after a crash the other keeps firing and sending.
    **{
        f"worker{n}": [*CELERY, "worker", "--pool=threads", "--concurrency=2", "--loglevel=INFO",
                       "--without-gossip", "--without-mingle", f"--hostname=dev{n}@%h", "--queues=celery"]
        for n in (1, 2)
    },
    # The sweep on a queue and a process of its own, as the Procfile's sweeper: a burst of
    # deadlines or messages filling the workers never keeps it waiting (issue 14, item 5).
    "sweeper": [*CELERY, "worker", "--pool=threads", "--concurrency=1", "--loglevel=INFO",
                "--without-gossip", "--without-mingle", "--hostname=sweeper@%h", "--queues=timers"],
    "beat": [*CELERY, "beat", "--loglevel=INFO"],
}
RESTARTED = ("worker1", "worker2", "sweeper", "beat")


def start(name: str) -> subprocess.Popen:
    proc = subprocess.Popen(COMMANDS[name], start_new_session=True)
    print(f"escalportal: {name} started (pid {proc.pid})", flush=True)
    return proc


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = [n for n in COMMANDS if not (n == "web" and "--no-web" in argv)]
    procs = {name: start(name) for name in names}
    restarts = {name: deque() for name in RESTARTED}
    where = f"serving http://{HOST}:{PORT}/ with" if "web" in procs else "running"
    print(f"escalportal: {where} two workers, the sweeper and the beat; Ctrl-C stops all.", flush=True)

    def stop(*_args) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with it ignored, which Python would keep.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while True:
            for name, proc in list(procs.items()):
                if proc.poll() is None:
                    continue
                if name not in RESTARTED or not _may_restart(restarts[name]):
                    print(f"escalportal: {name} exited with {proc.returncode}; stopping.", flush=True)
                    return proc.returncode or 1
                print(f"escalportal: {name} exited with {proc.returncode}; starting it again.", flush=True)
                procs[name] = start(name)
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_all(procs)


def _may_restart(times: deque) -> bool:
    now = time.monotonic()
    while times and now - times[0] > RESTART_WINDOW:
        times.popleft()
    times.append(now)
    return len(times) <= GIVE_UP_AFTER


def _stop_all(procs: dict[str, subprocess.Popen]) -> None:
    for name, proc in procs.items():
        if proc.poll() is None:
            if name == "web":  # runserver's autoreloader runs the server in a child of its own
                os.killpg(proc.pid, signal.SIGTERM)
            else:  # the worker finishes its tasks (a warm shutdown)
                proc.terminate()
    deadline = time.monotonic() + 10
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
