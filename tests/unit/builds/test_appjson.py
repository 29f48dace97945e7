import json

import pytest

from builds.appjson import app_json, app_json_formation, app_json_healthcheck

TYPES = {"web": "gunicorn app:app", "worker": "celery worker"}


def read(tmp_path, content, part=app_json_formation) -> tuple[dict, list[str]]:
    path = tmp_path / "app.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    warnings: list[str] = []
    data = app_json(path, warnings.append)
    if part is app_json_formation:
        return app_json_formation(data, TYPES, warnings.append), warnings
    return part(data, warnings.append), warnings


def test_formation_is_read(tmp_path):
    formation, warnings = read(
        tmp_path, {"formation": {"web": {"quantity": 2, "size": "Large"}, "worker": {}}}
    )
    assert formation == {
        "web": {"quantity": 2, "size": "large"},
        "worker": {"quantity": 1, "size": "standard"},
    }
    assert warnings == []


def test_bad_entries_are_skipped_with_a_warning(tmp_path):
    formation, warnings = read(
        tmp_path,
        {"formation": {"clock": {"quantity": 1}, "web": {"quantity": -3}, "worker": {"size": "x"}}},
    )
    assert formation == {"worker": {"quantity": 1, "size": "standard"}}
    assert len(warnings) == 3


def test_missing_or_broken_app_json(tmp_path):
    assert app_json(tmp_path / "app.json", print) == {}
    formation, warnings = read(tmp_path, "{not json")
    assert formation == {} and "not valid JSON" in warnings[0]
    formation, warnings = read(tmp_path, "[1, 2]")
    assert formation == {} and "not a JSON object" in warnings[0]


def test_web_startup_healthcheck(tmp_path):
    check, warnings = read(tmp_path, {"healthchecks": {"web": [
        {"type": "liveness", "path": "/live"},
        {"type": "startup", "path": "/health", "content": "ok", "timeout": 20},
    ]}}, app_json_healthcheck)
    assert check == {"path": "/health", "content": "ok", "boot_timeout": 20.0}
    assert warnings == []
    check, _ = read(tmp_path, {}, app_json_healthcheck)
    assert check == {}


@pytest.mark.parametrize("web", [
    {"web": "nope"}, {"web": [{"path": "health"}]}, {"web": [{"path": "/", "timeout": 0}]},
    {"web": [{"path": "/", "content": 3}]},
])
def test_bad_healthchecks_are_ignored_with_a_warning(tmp_path, web):
    check, warnings = read(tmp_path, {"healthchecks": web}, app_json_healthcheck)
    assert check == {} and len(warnings) == 1
