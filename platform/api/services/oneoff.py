"""One-off processes (`pier run`): a container of the current release with the app's config."""

from collections.abc import Callable

from api.desired import desired_app
from api.errors import Invalid
from api.models import App
from api.validation import validate_size
from logs.events import event_log
from pier.runtime_config import runtime_backend
from runtime.backends.docker import oneoff_name

# A forgotten interactive session must not run forever.
ONEOFF_TIMEOUT_SECONDS = 3600


def oneoff_prepare(*, app: App, command: str, size: str | None) -> tuple:
    """Check the request and return (desired app, memory in MB, dyno name)."""
    if not isinstance(command, str) or not command.strip():
        raise Invalid('command must be a non-empty string, like "python manage.py migrate"')
    desired = desired_app(app=app)
    if desired is None:
        raise Invalid(f"{app.name} has no release to run yet: deploy it with `git push pier main`")
    memory = validate_size(size or "standard").memory_mb
    return desired, memory, oneoff_name()


def oneoff_run(
    *, desired, command: str, memory_mb: int, dyno: str, output: Callable[[bytes], None]
) -> int:
    """Run command to completion, streaming its output; return its exit status."""
    event_log(app_id=desired.id, message=f"Starting process with command `{command}`", dyno=dyno)
    code = runtime_backend().run_oneoff(
        desired,
        command,
        output=output,
        memory_mb=memory_mb,
        timeout=ONEOFF_TIMEOUT_SECONDS,
        dyno=dyno,
    )
    event_log(app_id=desired.id, message=f"Process exited with status {code}", dyno=dyno)
    return code


def oneoff_attach(*, desired, command: str, memory_mb: int, dyno: str, rows: int, cols: int):
    """Start command on a terminal (`pier run` from a terminal); return the attached process."""
    event_log(app_id=desired.id, message=f"Starting process with command `{command}`", dyno=dyno)
    return runtime_backend().attach_oneoff(desired, command, rows=rows, cols=cols,
                                           memory_mb=memory_mb, dyno=dyno)


def oneoff_ended(*, attached, app_id: str, code: int | None) -> None:
    """Remove an attached process; log how it ended."""
    attached.remove()
    how = f"exited with status {code}" if code is not None else "was stopped: its terminal left"
    event_log(app_id=app_id, message=f"Process {how}", dyno=attached.dyno)


def oneoff_stop(*, app_id: str, dyno: str) -> None:
    runtime_backend().stop_oneoff(app_id, dyno)
