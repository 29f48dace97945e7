"""One-off processes (`pier run`): a container of the current release with the app's config."""

import time
from collections.abc import Callable

from django.conf import settings

from api.desired import desired_app
from api.errors import Invalid, RateLimited
from api.models import App
from api.validation import validate_size
from logs.events import event_log
from pier.redis import get_redis
from pier.runtime_config import runtime_backend
from runtime import applog
from runtime.backends.base import oneoff_name

# A forgotten interactive session must not run forever.
ONEOFF_TIMEOUT_SECONDS = 3600
# A slot whose release was lost (a worker killed mid-run) frees itself after this long.
SLOT_TTL_SECONDS = ONEOFF_TIMEOUT_SECONDS + 300


def oneoff_prepare(*, app: App, user, command: str, size: str | None,
                   dyno: str | None = None) -> tuple:
    """Check the request, claim one of user's one-off slots; return (desired, memory, dyno).

    The slot is given back when the process ends (oneoff_run, oneoff_ended).
    """
    if not isinstance(command, str) or not command.strip():
        raise Invalid('command must be a non-empty string, like "python manage.py migrate"')
    desired = desired_app(app=app)
    if desired is None:
        raise Invalid(f"{app.name} has no release to run yet: deploy it with `git push pier main`")
    memory = validate_size(size or "standard").memory_mb
    dyno = dyno or oneoff_name()
    oneoff_slot_claim(user_id=user.pk, app_id=str(app.id), dyno=dyno)
    return desired, memory, dyno


def _slots_key(user_id) -> str:
    return f"pier:oneoffs:user:{user_id}"


def _owner_key(app_id: str, dyno: str) -> str:
    return f"pier:oneoffs:owner:{app_id}:{dyno}"


def oneoff_slot_claim(*, user_id, app_id: str, dyno: str) -> None:
    """Count the one-off against its user, or refuse past PIER_MAX_ONEOFFS_PER_USER.

    A sorted set of the user's running one-offs scored by when each slot lapses; add first,
    then count, so two requests racing for the last slot cannot both win.
    """
    key, now, limit = _slots_key(user_id), time.time(), settings.PIER_MAX_ONEOFFS_PER_USER
    pipe = get_redis().pipeline(transaction=True)
    pipe.zremrangebyscore(key, "-inf", now)
    pipe.zadd(key, {f"{app_id}/{dyno}": now + SLOT_TTL_SECONDS})
    pipe.zcard(key)
    pipe.expire(key, SLOT_TTL_SECONDS)
    pipe.set(_owner_key(app_id, dyno), str(user_id), ex=SLOT_TTL_SECONDS)
    running = pipe.execute()[2]
    if running > limit:
        _slot_release(app_id=app_id, dyno=dyno)
        raise RateLimited(
            f"you already run {limit} one-off processes, the most one user may run at once "
            f"(PIER_MAX_ONEOFFS_PER_USER): wait for one to end (none runs longer than "
            f"{ONEOFF_TIMEOUT_SECONDS // 60} minutes), then run this again"
        )


def _slot_release(*, app_id: str, dyno: str) -> None:
    client = get_redis()
    user_id = client.getdel(_owner_key(app_id, dyno))
    if user_id:
        client.zrem(_slots_key(user_id), f"{app_id}/{dyno}")


def oneoff_run(
    *, desired, command: str, memory_mb: int, dyno: str, output: Callable[[bytes], None]
) -> int:
    """Run command to completion, streaming its output; return its exit status."""
    event_log(app_id=desired.id, message=f"Starting process with command `{command}`", dyno=dyno)
    try:
        code = runtime_backend().run_oneoff(
            desired,
            command,
            output=output,
            memory_mb=memory_mb,
            timeout=ONEOFF_TIMEOUT_SECONDS,
            dyno=dyno,
        )
    finally:
        _slot_release(app_id=desired.id, dyno=dyno)
    event_log(app_id=desired.id, message=f"Process exited with status {code}", dyno=dyno)
    return code


class LogLines:
    """Write a process's output into the app's log stream, one entry per line (app[DYNO])."""

    def __init__(self, app_id: str, dyno: str):
        self.app_id, self.dyno, self.pending = app_id, dyno, b""

    def __call__(self, chunk: bytes) -> None:
        *lines, self.pending = (self.pending + chunk).split(b"\n")
        for line in lines:
            applog.append(get_redis(), self.app_id, source="app", dyno=self.dyno,
                          message=line, maxlen=settings.PIER_LOG_BUFFER)

    def flush(self) -> None:
        if self.pending:
            self(b"\n")


def oneoff_run_detached(*, app_id: str, command: str, memory_mb: int, dyno: str) -> int:
    """Run `pier run --detach`: the output goes to the app's log stream as app[run.N]."""
    output = LogLines(app_id, dyno)
    desired = desired_app(app=App.objects.get(pk=app_id))
    code = oneoff_run(
        desired=desired, command=command, memory_mb=memory_mb, dyno=dyno, output=output
    )
    output.flush()
    return code


def oneoff_attach(*, desired, command: str, memory_mb: int, dyno: str, rows: int, cols: int):
    """Start command on a terminal (`pier run` from a terminal); return the attached process."""
    event_log(app_id=desired.id, message=f"Starting process with command `{command}`", dyno=dyno)
    try:
        return runtime_backend().attach_oneoff(desired, command, rows=rows, cols=cols,
                                               memory_mb=memory_mb, dyno=dyno)
    except Exception:
        _slot_release(app_id=desired.id, dyno=dyno)
        raise


def oneoff_ended(*, attached, app_id: str, code: int | None) -> None:
    """Remove an attached process, give back its slot; log how it ended."""
    attached.remove()
    _slot_release(app_id=app_id, dyno=attached.dyno)
    how = f"exited with status {code}" if code is not None else "was stopped: its terminal left"
    event_log(app_id=app_id, message=f"Process {how}", dyno=attached.dyno)


def oneoff_stop(*, app_id: str, dyno: str) -> None:
    runtime_backend().stop_oneoff(app_id, dyno)
