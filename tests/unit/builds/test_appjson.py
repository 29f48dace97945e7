import json

from builds.appjson import app_json_formation

TYPES = {"web": "gunicorn app:app", "worker": "celery worker"}


def read(tmp_path, content) -> tuple[dict, list[str]]:
    path = tmp_path / "app.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    warnings: list[str] = []
    return app_json_formation(path, TYPES, warnings.append), warnings


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
    assert app_json_formation(tmp_path / "app.json", TYPES, print) == {}
    formation, warnings = read(tmp_path, "{not json")
    assert formation == {} and "not valid JSON" in warnings[0]
