"""The pre-receive hook: build the pushed commit and stream the build back as `remote:` lines.

git runs it inside the push with the pushed objects still in quarantine, so the source is
archived here, before the build is handed to a worker. Exit 0 accepts the push; anything
else rejects it and leaves the running release untouched.
"""

import os
import signal
import subprocess
import sys
import time
import traceback

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from api.errors import Conflict
from api.models import App, Build, Release
from api.selectors import app_web_url, token_may_read
from builds import logstream
from builds.paths import build_dir
from builds.services import (
    LISTENER_TTL_SECONDS,
    BuildNotQueued,
    build_create,
    build_queue,
    listener_key,
)
from pier.redis import get_redis
from runtime.desired import HealthCheck

ZERO_SHA = "0" * 40
# How long a push waits for a worker to pick its build up before giving up.
QUEUE_PATIENCE_SECONDS = 120
# Boot timeout (60 s) plus the time to start the containers.
LAUNCH_PATIENCE_SECONDS = 120


def say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Command(BaseCommand):
    help = "git pre-receive hook of an app repo (run by git, not by hand)."

    build: Build | None = None

    def handle(self, *args, **options):
        try:
            self._receive()
        except SystemExit:
            raise
        except Exception:
            if self.build is not None:  # a pending build nobody runs would block pushes
                Build.objects.filter(pk=self.build.pk, status=Build.Status.PENDING).update(
                    status=Build.Status.FAILED
                )
            # The traceback goes to a file of the platform's, never to the pusher.
            with (settings.PIER_DATA_DIR / "hooks.log").open("a") as log:
                log.write(traceback.format_exc())
            say(" !     Pier could not start this build (an internal error, see hooks.log).")
            say(" !     The running release is unchanged; push again, or report it.")
            sys.exit(1)

    def _receive(self) -> None:
        app = App.objects.get(id=os.path.basename(os.environ["PIER_REPO"]).removesuffix(".git"))
        user = get_user_model().objects.get(pk=os.environ["PIER_USER_ID"])
        updates = [line.split() for line in sys.stdin.read().splitlines() if line.strip()]
        sha = self._deploy_sha(app, updates)
        if sha is None:
            sys.exit(1)
        try:
            build = self.build = build_create(app=app, user=user, source_sha=sha)
        except Conflict as e:
            say(f" !     {e.message}")
            sys.exit(1)
        say(f"-----> Building {app.name} from commit {sha[:7]}...")
        build_dir(build).mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "archive", "--format=tar", "-o", str(build_dir(build) / "source.tar"), sha],
            check=True,
        )
        try:
            build_queue(build=build)
        except BuildNotQueued as e:
            say(f" !     {e}")
            sys.exit(1)
        redis = get_redis()
        signal.signal(signal.SIGTERM, lambda *_: self._abandon(redis, build))
        if self._follow(redis, build) != Build.Status.SUCCEEDED:
            sys.exit(1)
        sys.exit(0 if self._launch(app, build) else 1)

    def _abandon(self, redis, build: Build) -> None:
        """The pusher went away: tell the worker at once that nobody waits for this build."""
        redis.delete(listener_key(build.id))
        os._exit(1)

    def _deploy_sha(self, app: App, updates: list[list[str]]) -> str | None:
        deploy_ref = f"refs/heads/{app.deploy_branch}"
        others = [ref for _, _, ref in updates if ref != deploy_ref]
        if others:
            branch = others[0].removeprefix("refs/heads/")
            say(f" !     Pier deploys only the {app.deploy_branch} branch; refusing {branch}.")
            say(f" !     Deploy it with: git push pier {branch}:{app.deploy_branch}")
            return None
        old, new, _ = updates[0]
        if new == ZERO_SHA:
            say(f" !     Deleting {app.deploy_branch} would leave nothing to deploy; refused.")
            return None
        return new

    def _follow(self, redis, build: Build) -> str:
        """Print the build's output until it ends; keep telling the worker we are listening.

        Every PIER_ACCESS_RECHECK seconds it asks whether the pusher may still see the app:
        if not (token revoked, collaborator removed, app destroyed), it stops listening, so
        the build is not released.
        """
        started = checked = time.monotonic()
        lines = logstream.follow(redis, str(build.id), block_ms=2000)
        while True:
            if time.monotonic() - checked >= settings.PIER_ACCESS_RECHECK:
                checked = time.monotonic()
                if not token_may_read(key_hash=os.environ.get("PIER_TOKEN_HASH", ""),
                                      app_id=build.app_id):
                    redis.delete(listener_key(build.id))
                    say(" !     Your access to this app was revoked: the push is abandoned.")
                    return Build.Status.FAILED
            redis.set(listener_key(build.id), "1", ex=LISTENER_TTL_SECONDS)
            try:
                line = next(lines)
            except StopIteration as end:
                return end.value
            if line is not None:
                say(line)
                continue
            waited = time.monotonic() - started
            if waited > QUEUE_PATIENCE_SECONDS and not self._picked_up(build):
                Build.objects.filter(pk=build.pk, status=Build.Status.PENDING).update(
                    status=Build.Status.FAILED
                )
                say(" !     No build worker picked this build up: is the `worker` process running?")
                return Build.Status.FAILED
            if waited > settings.PIER_BUILD_TIMEOUT + 60:
                say(" !     The build did not finish in time; see `pier builds:output`.")
                return Build.Status.FAILED

    def _launch(self, app: App, build: Build) -> bool:
        """Wait for the runtime's verdict on the new release; return False if it failed."""
        release = app.releases.filter(build=build).first()
        say("-----> Launching...")
        deadline = time.monotonic() + LAUNCH_PATIENCE_SECONDS
        while release.status == Release.Status.PENDING and time.monotonic() < deadline:
            time.sleep(0.5)
            release.refresh_from_db()
        if release.status == Release.Status.SUCCEEDED:
            say(f"       Released v{release.version}")
            say(f"       {app_web_url(app=app)} deployed to Pier")
            return True
        if release.status == Release.Status.FAILED:
            check = HealthCheck(**release.build.healthcheck)  # what the runtime waited for
            say(f" !     Release v{release.version} failed: its web processes did not "
                f"{check.describe()}")
            say(f" !     within {check.boot_timeout:g}s. The previous release keeps serving.")
            say(f" !     See `pier logs -a {app.name}` and `pier releases -a {app.name}`.")
            return False
        say(f"       v{release.version} is still starting: see `pier ps` and `pier releases`.")
        say("       (Is Pier's `runtime` process running?)")
        return True

    def _picked_up(self, build: Build) -> bool:
        return Build.objects.filter(pk=build.pk).exclude(status=Build.Status.PENDING).exists()
