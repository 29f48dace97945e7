"""What a push does after git has received it: pick the commit, follow its build, await
its release. The pre-receive hook fetches the app, calls these and prints what they say
(``out``, a line at a time).
"""

import subprocess
import time
from collections.abc import Callable

from django.conf import settings

from api.errors import Invalid
from api.models import App, Build, Release
from api.selectors import app_web_url, token_may_read
from builds import logstream
from builds.paths import build_dir
from builds.services import (
    LISTENER_TTL_SECONDS,
    build_create,
    build_fail_pending,
    build_queue,
    listener_key,
)
from runtime.desired import HealthCheck

ZERO_SHA = "0" * 40
# How long a push waits for a worker to pick its build up before giving up.
QUEUE_PATIENCE_SECONDS = 120
# Boot timeout (60 s) plus the time to start the containers.
LAUNCH_PATIENCE_SECONDS = 120

Out = Callable[[str], None]


def push_commit(*, app: App, updates: list[list[str]]) -> str:
    """Return the commit to deploy from git's ref updates; raise Invalid to refuse the push."""
    deploy_ref = f"refs/heads/{app.deploy_branch}"
    others = [ref for _, _, ref in updates if ref != deploy_ref]
    if others:
        branch = others[0].removeprefix("refs/heads/")
        raise Invalid(f"Pier deploys only the {app.deploy_branch} branch; refusing {branch}.\n"
                      f"Deploy it with: git push pier {branch}:{app.deploy_branch}")
    _, new, _ = updates[0]
    if new == ZERO_SHA:
        raise Invalid(f"Deleting {app.deploy_branch} would leave nothing to deploy; refused.")
    return new


def push_build(*, app: App, user, sha: str, out: Out) -> Build:
    """Create and queue the build of ``sha``, archiving it while git still holds it.

    git runs the hook with the pushed objects in quarantine, so the source is archived
    here, before a worker picks the build up. Raise Conflict or BuildNotQueued to refuse
    the push; a build that cannot be queued is failed, so it blocks no later push.
    """
    build = build_create(app=app, user=user, source_sha=sha)
    out(f"-----> Building {app.name} from commit {sha[:7]}...")
    try:
        build_dir(build).mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "archive", "--format=tar", "-o", str(build_dir(build) / "source.tar"), sha],
            check=True,
        )
        build_queue(build=build)
    except BaseException:
        build_fail_pending(build_id=build.pk)
        raise
    return build


def push_follow(*, build: Build, redis, key_hash: str, out: Out) -> bool:
    """Print the build's output until it ends; keep telling the worker we are listening.

    Every PIER_ACCESS_RECHECK seconds it asks whether the pusher may still see the app:
    if not (token revoked, collaborator removed, app destroyed), it stops listening, so
    the build is not released. Return whether the build succeeded.
    """
    started = checked = time.monotonic()
    lines = logstream.follow(redis, str(build.id), block_ms=2000)
    while True:
        if time.monotonic() - checked >= settings.PIER_ACCESS_RECHECK:
            checked = time.monotonic()
            if not token_may_read(key_hash=key_hash, app_id=build.app_id):
                redis.delete(listener_key(build.id))
                out(" !     Your access to this app was revoked: the push is abandoned.")
                return False
        redis.set(listener_key(build.id), "1", ex=LISTENER_TTL_SECONDS)
        try:
            line = next(lines)
        except StopIteration as end:
            return end.value == Build.Status.SUCCEEDED
        if line is not None:
            out(line)
            continue
        waited = time.monotonic() - started
        if waited > QUEUE_PATIENCE_SECONDS and build_fail_pending(build_id=build.pk):
            out(" !     No build worker picked this build up: is the `worker` process running?")
            return False
        if waited > settings.PIER_BUILD_TIMEOUT + 60:
            out(" !     The build did not finish in time; see `pier builds:output`.")
            return False


def push_launch(*, app: App, build: Build, out: Out) -> bool:
    """Wait for the runtime's verdict on the build's release; return False if it failed."""
    release = app.releases.filter(build=build).first()
    out("-----> Launching...")
    deadline = time.monotonic() + LAUNCH_PATIENCE_SECONDS
    while release.status == Release.Status.PENDING and time.monotonic() < deadline:
        time.sleep(0.5)
        release.refresh_from_db()
    if release.status == Release.Status.SUCCEEDED:
        out(f"       Released v{release.version}")
        out(f"       {app_web_url(app=app)} deployed to Pier")
        return True
    if release.status == Release.Status.FAILED:
        check = HealthCheck(**release.build.healthcheck)  # what the runtime waited for
        out(f" !     Release v{release.version} failed: its web processes did not "
            f"{check.describe()}")
        out(f" !     within {check.boot_timeout:g}s. The previous release keeps serving.")
        out(f" !     See `pier logs -a {app.name}` and `pier releases -a {app.name}`.")
        return False
    out(f"       v{release.version} is still starting: see `pier ps` and `pier releases`.")
    out("       (Is Pier's `runtime` process running?)")
    return True
