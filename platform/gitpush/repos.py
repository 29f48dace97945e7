"""Bare git repositories of apps, kept by app id so that a rename keeps the history."""

import subprocess
from pathlib import Path

from django.conf import settings

from api.models import App

HOOK = """#!/bin/sh
# Installed by Pier: builds the pushed commit and streams the build back to the pusher.
exec "$PIER_PYTHON" "$PIER_MANAGE" pier_pre_receive
"""


def repo_path(app_id) -> Path:
    return settings.PIER_REPOS_DIR / f"{app_id}.git"


def repo_ensure(app: App) -> Path:
    """Create the app's bare repo on first use and (re)install Pier's pre-receive hook."""
    path = repo_path(app.id)
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "git",
                "init",
                "--quiet",
                "--bare",
                f"--initial-branch={app.deploy_branch}",
                str(path),
            ],
            check=True,
        )
    hook = path / "hooks" / "pre-receive"
    if not hook.exists() or hook.read_text() != HOOK:
        hook.write_text(HOOK)
        hook.chmod(0o755)
    return path
