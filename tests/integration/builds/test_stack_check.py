"""The stack images' up-to-date check: Python's answer is build.sh's, without running it."""

import subprocess

import pytest

from builds.engine.stack import (
    RECIPE_FILES,
    STACK_SCRIPT,
    ensure_stack_images,
    recipe_hash,
    stack_images_current,
)

pytestmark = pytest.mark.docker


def test_recipe_hash_is_the_scripts():
    script = f"sha256sum {' '.join(RECIPE_FILES)} | sha256sum | cut -c1-12"
    out = subprocess.run(
        ["bash", "-c", script], cwd=STACK_SCRIPT.parent, check=True, capture_output=True, text=True
    ).stdout.strip()
    assert recipe_hash() == out


def test_up_to_date_images_are_checked_without_the_script(stack, docker_client):
    lines = []
    ensure_stack_images(progress=lines.append)
    assert lines == [f"-----> Stack images up to date (recipe {recipe_hash()})"]


def test_a_changed_recipe_is_not_up_to_date(stack, docker_client, monkeypatch):
    assert stack_images_current()
    # A recipe that changed: its hash names no image yet, so the script must run.
    monkeypatch.setattr("builds.engine.stack.recipe_hash", lambda: "000000000000")
    assert not stack_images_current()
