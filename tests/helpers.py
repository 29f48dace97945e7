"""Helpers every suite shares: import them as ``tests.helpers`` (fixtures live in conftests)."""

import os
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float = 60.0, what: str = "condition", *,
             interval: float = 0.1, ignoring: tuple = ()):
    """Return condition()'s first true value; fail the test after ``timeout`` seconds.

    Exceptions of the types in ``ignoring`` count as "not yet" (a router reloading).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except ignoring:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def git(*args: str, cwd: Path, check: bool = True,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run git in cwd as a fixed author, never prompting; fail the test if it fails."""
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result
