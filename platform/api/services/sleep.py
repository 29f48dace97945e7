"""Sleep: an app's web processes stop after a while without requests and start again on
the next one (the runtime does both: runtime/sleep.py, runtime/waker.py)."""

import re

from api.errors import Invalid
from api.models import App
from api.nudge import runtime_nudge_on_commit
from api.selectors import process_types_current
from logs.events import event_log
from runtime.sleep import describe_after

DURATION = re.compile(r"^(\d{1,7})([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_SECONDS, MAX_SECONDS = 60, 30 * 86400


def duration_parse(text) -> int:
    """Return the seconds of ``30m``, ``1h``, ``90s`` or ``2d``; Invalid with what to write."""
    match = DURATION.match(str(text).strip().lower())
    seconds = int(match[1]) * UNITS[match[2]] if match else 0
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise Invalid(f"after must be a duration like 30m, 1h or 90s, between 1m and 30d; "
                      f"got {str(text)[:40]!r}")
    return seconds


def sleep_enable(*, app: App, after) -> App:
    seconds = duration_parse(after)
    if "web" not in process_types_current(app=app):
        raise Invalid(f"{app.name} has no web process type to put to sleep: only web "
                      "processes sleep; deploy a Procfile with a `web:` line first")
    app.sleep_after = seconds
    app.save(update_fields=["sleep_after", "updated_at"])
    event_log(app_id=app.id, message=f"Sleep enabled: web processes stop after "
              f"{describe_after(seconds)} without requests")
    runtime_nudge_on_commit()
    return app


def sleep_disable(*, app: App) -> App:
    if app.sleep_after is not None:
        app.sleep_after = None
        app.save(update_fields=["sleep_after", "updated_at"])
        event_log(app_id=app.id, message="Sleep disabled")
        runtime_nudge_on_commit()
    return app
