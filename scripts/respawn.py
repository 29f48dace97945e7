"""Run one platform process and start it again whenever it dies: `respawn.py NAME -- CMD`.

`manage.py up` wraps every Procfile process in this, because honcho stops the whole
platform as soon as one process exits: a runtime killed by the OOM killer or a crashed
router would take the API down with it. Apps never notice either way (their containers
outlive every platform process). SIGTERM/SIGINT to the process group stop it for good.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

FIRST_DELAY, MAX_DELAY, HEALTHY_AFTER = 1.0, 30.0, 60.0


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: respawn.py NAME -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    name, command = argv[0], argv[2:]
    stopping = False

    def stop(_signum, _frame):
        # honcho signals the whole process group: the child got the same signal already.
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    delay = FIRST_DELAY
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        status = child.wait()
        if stopping:
            return status
        if time.monotonic() - started > HEALTHY_AFTER:
            delay = FIRST_DELAY  # it ran fine for a while: this is a new failure
        print(f"pier: {name} exited with status {status}; starting it again in {delay:g}s",
              file=sys.stderr, flush=True)
        time.sleep(delay)
        if stopping:
            return status
        delay = min(delay * 2, MAX_DELAY)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
