"""app.json: its `formation` (the first deploy's scale, as Heroku reads it), its web
`healthchecks` (the startup check a new release must pass, as Dokku reads it) and its
`cron` (scheduled jobs, as Dokku reads it)."""

import json
from collections.abc import Callable
from pathlib import Path

from croniter import croniter

from api.validation import DYNO_SIZES
from builds.engine import BuildFailed

Log = Callable[[str], None]
# Each job is checked every minute: an app gets a bounded number of them.
MAX_CRON_JOBS = 50


def app_json(path: Path, log: Log) -> dict:
    """Return app.json's content, or {} when it is missing or not a JSON object."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        log(f" !     app.json is not valid JSON ({e}); ignoring it")
        return {}
    if not isinstance(data, dict):
        log(" !     app.json is not a JSON object; ignoring it")
        return {}
    return data


def app_json_formation(data: dict, process_types: dict, log: Log) -> dict[str, dict]:
    """Return app.json's valid formation entries; warn about (and skip) the others."""
    formation = data.get("formation", {})
    result = {}
    for ptype, entry in formation.items() if isinstance(formation, dict) else []:
        quantity = entry.get("quantity", 1) if isinstance(entry, dict) else None
        size = (entry.get("size") or "standard").lower() if isinstance(entry, dict) else None
        if ptype not in process_types or not isinstance(quantity, int) or not 0 <= quantity <= 100:
            log(f" !     app.json formation for {ptype!r} ignored: unknown type or bad quantity")
            continue
        if size not in DYNO_SIZES:
            log(f" !     app.json size {size!r} for {ptype} is unknown; using standard")
            size = "standard"
        result[ptype] = {"quantity": quantity, "size": size}
    return result


def app_json_healthcheck(data: dict, log: Log) -> dict:
    """Return the web startup check: {"path", "content", "boot_timeout"} (each optional).

    Dokku's shape: ``{"healthchecks": {"web": [{"type": "startup", "path": "/health",
    "content": "ok", "timeout": 60}]}}``. Without one, a web process is healthy once it
    accepts TCP connections on PORT.
    """
    checks = data.get("healthchecks", {})
    web = checks.get("web", []) if isinstance(checks, dict) else None
    if not isinstance(web, list):
        log(" !     app.json healthchecks.web must be a list of checks; ignoring it")
        return {}
    for check in web:
        if not isinstance(check, dict) or check.get("type", "startup") != "startup":
            continue
        path, content = check.get("path", "/"), check.get("content", "")
        timeout = check.get("timeout", 60)
        if not (isinstance(path, str) and path.startswith("/") and " " not in path
                and isinstance(content, str)
                and isinstance(timeout, int | float) and 0 < timeout <= 600):
            log(" !     app.json startup check ignored: needs a path starting with /, "
                "text content and a timeout of 1-600 s")
            return {}
        return {"path": path, "content": content, "boot_timeout": float(timeout)}
    return {}


def app_json_cron(data: dict) -> list[dict]:
    """Return app.json's scheduled jobs: ``[{"command", "schedule"}]``.

    Unlike the other keys, a mistake here fails the build: a job silently dropped would
    simply never run, and nobody would notice until its work was missed.
    """
    jobs = data.get("cron", [])
    example = '{"cron": [{"command": "python report.py", "schedule": "*/10 * * * *"}]}'
    if not isinstance(jobs, list) or len(jobs) > MAX_CRON_JOBS:
        raise BuildFailed(f"app.json cron must be a list of at most {MAX_CRON_JOBS} jobs, "
                          f"like {example}")
    result = []
    for number, job in enumerate(jobs, 1):
        command = job.get("command") if isinstance(job, dict) else None
        schedule = job.get("schedule") if isinstance(job, dict) else None
        if not isinstance(command, str) or not command.strip() or len(command) > 2000:
            raise BuildFailed(f"app.json cron job {number} needs a command (at most 2000 "
                              f"characters), like {example}")
        if not isinstance(schedule, str) or not _cron_valid(schedule):
            raise BuildFailed(
                f"app.json cron job {number} ({command!r}) has an invalid schedule "
                f"{schedule!r}: use five fields (minute hour day month weekday, in UTC) "
                "like \"*/10 * * * *\", or @hourly, @daily, @weekly, @monthly, @yearly")
        result.append({"command": command.strip(), "schedule": schedule.strip()})
    return result


def _cron_valid(schedule: str) -> bool:
    text = schedule.strip()
    # Five fields only: croniter would read a sixth as seconds, which beat cannot keep.
    five = text.startswith("@") or len(text.split()) == 5
    return five and len(text) <= 100 and croniter.is_valid(text)
