"""The stack images builds run on: made by buildpacks/stack/build.sh."""

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import docker

from .errors import StackMissing

BUILDPACKS_DIR = Path(__file__).resolve().parents[3] / "buildpacks"
STACK_SCRIPT = BUILDPACKS_DIR / "stack" / "build.sh"
# What build.sh's recipe_hash hashes: an image tagged with the hash is up to date.
RECIPE_FILES = ("build.sh", "Dockerfile.build", "Dockerfile.run", "pier-entrypoint")
BUILD_IMAGE = "pier/stack-build:latest"
RUN_IMAGE = "pier/stack-run:latest"


def recipe_hash() -> str:
    """Return build.sh's recipe_hash: `sha256sum FILES | sha256sum | cut -c1-12`."""
    listing = "".join(
        f"{hashlib.sha256((STACK_SCRIPT.parent / name).read_bytes()).hexdigest()}  {name}\n"
        for name in RECIPE_FILES
    )
    return hashlib.sha256(listing.encode()).hexdigest()[:12]


def stack_images_current() -> bool:
    """Whether every stack image is tagged with the recipe's hash and `latest` names it.

    A few Engine API calls: what a second `make run` pays instead of the script's docker
    CLI calls and its lock (which waits for any other stack build on the machine).
    """
    tag = recipe_hash()
    try:
        client = docker.from_env()
        return all(
            client.images.get(f"pier/stack-{name}:{tag}").id
            == client.images.get(f"pier/stack-{name}:latest").id
            for name in ("base", "build", "run")
        )
    except docker.errors.DockerException:  # missing, or no Engine: the script says which
        return False


def ensure_stack_images(progress: Callable[[str], None] = print, *, force: bool = False) -> None:
    """Build the stack images unless they are up to date, passing each output line to progress.

    Cheap when nothing changed (a few Engine API calls); minutes the first time.
    """
    if not force and stack_images_current():
        progress(f"-----> Stack images up to date (recipe {recipe_hash()})")
        return
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
