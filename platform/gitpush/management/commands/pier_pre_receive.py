"""The pre-receive hook: build the pushed commit and stream the build back as `remote:` lines.

git runs it inside the push. Exit 0 accepts the push; anything else rejects it and leaves
the running release untouched. What a push does is gitpush.services; this prints it.
"""

import os
import signal
import sys
import traceback

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from api.errors import PierError
from api.models import App, Build
from builds.services import build_fail_pending, listener_key
from gitpush.services import push_build, push_commit, push_follow, push_launch
from pier.redis import get_redis


def say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def refuse(message: str) -> None:
    for line in message.splitlines():
        say(f" !     {line}")
    sys.exit(1)


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
                build_fail_pending(build_id=self.build.pk)
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
        try:
            sha = push_commit(app=app, updates=updates)
            build = push_build(app=app, user=user, sha=sha, out=say)
        except PierError as e:  # refused: nothing was built
            refuse(e.message)
        self.build = build
        redis = get_redis()
        signal.signal(signal.SIGTERM, lambda *_: self._abandon(redis, build))
        key_hash = os.environ.get("PIER_TOKEN_HASH", "")
        if not push_follow(build=build, redis=redis, key_hash=key_hash, out=say):
            sys.exit(1)
        sys.exit(0 if push_launch(app=app, build=build, out=say) else 1)

    def _abandon(self, redis, build: Build) -> None:
        """The pusher went away: tell the worker at once that nobody waits for this build."""
        redis.delete(listener_key(build.id))
        os._exit(1)
