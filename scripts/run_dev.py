"""`make run`: the web server, a Celery worker and its embedded beat, and the sweeper, as one command.

Ctrl-C (or any child dying) stops all of them. Everything runs on SQLite under var/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

PY = sys.executable
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")

COMMANDS = {
    "web": [PY, "manage.py", "runserver", f"{HOST}:{PORT}"],
    # One process runs the worker and the beat (-B): fine for one machine; production runs
    # workers and exactly one separate beat (see README).
    "worker": [PY, "-m", "celery", "-A", "escalportal", "worker", "-B", "--loglevel=INFO",
               "--concurrency=2", "--hostname=dev@%h", "--queues=celery"],
    # The sweep on a queue and a process of its own, as the Procfile's sweeper: a burst of
    # deadlines or messages filling the worker's pool never keeps it waiting (issue 14, item 5).
    "sweeper": [PY, "-m", "celery", "-A", "escalportal", "worker", "--loglevel=INFO",
                "--concurrency=1", "--hostname=sweeper@%h", "--queues=timers"],
}


def main() -> int:
    procs = {name: subprocess.Popen(cmd, start_new_session=True) for name, cmd in COMMANDS.items()}
    print(f"escalportal: serving http://{HOST}:{PORT}/ with a worker and beat; Ctrl-C stops all.", flush=True)

    def stop(*_args) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with it ignored, which Python would keep.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        while True:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"escalportal: {name} exited with {proc.returncode}; stopping.", flush=True)
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for name, proc in procs.items():
            if proc.poll() is None:
                if name in ("worker", "sweeper"):  # its main process stops its pool: a warm shutdown
                    proc.terminate()
                else:  # runserver's autoreloader runs the server in a child of its own
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    return code


if __name__ == "__main__":
    sys.exit(main())
