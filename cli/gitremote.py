"""The `pier` git remote: where the CLI finds the app of the current directory.

The remote's URL is `<api_url>/<app>.git`; only the last path segment names the app, so a
remote still works when the server is reached under another host name.
"""

import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from cli.errors import CliError

REMOTE = "pier"
APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,29}$")


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess | None:
    """Run git in cwd; return None when git itself is not installed."""
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None


def is_git_repo(cwd: Path) -> bool:
    result = _git(cwd, "rev-parse", "--git-dir")
    return result is not None and result.returncode == 0


def remote_url(cwd: Path, remote: str = REMOTE) -> str | None:
    result = _git(cwd, "remote", "get-url", remote)
    if result is None or result.returncode != 0:
        return None
    return result.stdout.strip() or None


def app_from_url(url: str) -> str | None:
    """Return the app a git URL like `http://host:5000/my-app.git` points at, or None."""
    path = urlsplit(url).path if "://" in url else url.rpartition(":")[2]
    name = path.rstrip("/").rpartition("/")[2]
    if not name.endswith(".git"):
        return None
    name = name[: -len(".git")]
    return name if APP_NAME_RE.match(name) else None


def app_from_remote(cwd: Path) -> str | None:
    url = remote_url(cwd)
    return app_from_url(url) if url else None


def remote_set(cwd: Path, url: str) -> str:
    """Point the `pier` remote at url, adding it if needed; return 'added' or 'updated'."""
    exists = remote_url(cwd) is not None
    args = ("remote", "set-url", REMOTE, url) if exists else ("remote", "add", REMOTE, url)
    result = _git(cwd, *args)
    if result is None or result.returncode != 0:
        detail = result.stderr.strip() if result is not None else "git is not installed"
        raise CliError(f"git {' '.join(args)} failed: {detail}")
    return "updated" if exists else "added"


def remote_remove(cwd: Path) -> bool:
    result = _git(cwd, "remote", "remove", REMOTE)
    return result is not None and result.returncode == 0
