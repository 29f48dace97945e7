"""Small formatting helpers for the dashboard's templates."""

from django import template

register = template.Library()


@register.filter
def duration(build) -> str:
    """Return how long a build took (or has been running), like `1m 05s`."""
    if build.started_at is None:
        return "—"
    if build.finished_at is None:
        return "running"
    seconds = max(0, int((build.finished_at - build.started_at).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


@register.filter
def short_id(value) -> str:
    return str(value)[:8]


@register.filter
def status_class(status: str) -> str:
    """Return the CSS modifier for a status badge."""
    return {
        "succeeded": "ok",
        "running": "ok",
        "deployed": "ok",
        "up": "ok",
        "failed": "bad",
        "crashed": "bad",
        "maintenance": "warn",
        "pending": "warn",
        "building": "warn",
    }.get(str(status), "neutral")
