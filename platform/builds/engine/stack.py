"""The stack images builds run on: made by buildpacks/stack/build.sh."""

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from .errors import StackMissing

BUILDPACKS_DIR = Path(__file__).resolve().parents[3] / "buildpacks"
STACK_SCRIPT = BUILDPACKS_DIR / "stack" / "build.sh"
BUILD_IMAGE = "pier/stack-build:latest"
RUN_IMAGE = "pier/stack-run:latest"


def ensure_stack_images(progress: Callable[[str], None] = print, *, force: bool = False) -> None:
    """Build the stack images unless they are up to date, passing each output line to progress.

    Cheap when nothing changed (a few `docker image inspect` calls); minutes the first time.
    """
    env = {"PIER_STACK_FORCE": "1"} if force else {}
    process = subprocess.Popen(
        ["bash", str(STACK_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
        env={**os.environ, **env},
    )
    assert process.stdout is not None
    with process:
        for line in process.stdout:
            progress(line.rstrip("\n"))
    if process.returncode != 0:
        raise StackMissing(
            f"Building the stack images failed ({STACK_SCRIPT} exited with "
            f"{process.returncode}); see the lines above."
        )
