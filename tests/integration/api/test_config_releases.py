import pytest

from api.models import Release


@pytest.fixture
def app(api):
    api.post("/api/apps", {"name": "cfg"}, format="json")
    return "cfg"


def test_config_roundtrip_keeps_values_exactly(api, app):
    values = {"MULTI": "line one\nline two\n", "UNI": "héllo ✓ 日本", "EMPTY": "", "EQ": "a=b=c"}
    response = api.patch("/api/apps/cfg/config-vars", values, format="json")
    assert response.status_code == 200
    assert api.get("/api/apps/cfg/config-vars").json() == values


def test_each_change_is_a_release_named_by_keys_not_values(api, app):
    api.patch("/api/apps/cfg/config-vars", {"SECRET": "hunter2", "B": "x"}, format="json")
    api.patch("/api/apps/cfg/config-vars", {"SECRET": None}, format="json")
    releases = api.get("/api/apps/cfg/releases").json()
    assert [r["description"] for r in releases] == [
        "Remove SECRET config vars",
        "Set B, SECRET config vars",
        "Initial release",
    ]
    assert not any("hunter2" in r["description"] for r in releases)


def test_unsetting_a_missing_key_makes_no_release(api, app):
    api.patch("/api/apps/cfg/config-vars", {"NOPE": None}, format="json")
    assert len(api.get("/api/apps/cfg/releases").json()) == 1


@pytest.mark.parametrize(
    "body", [{"1BAD": "x"}, {"OK": "x", "bad-key": "y"}, {"PORT": "80"}, {"A": 5}, {}]
)
def test_invalid_config_changes_nothing(api, app, body):
    response = api.patch("/api/apps/cfg/config-vars", body, format="json")
    assert response.status_code == 422
    assert api.get("/api/apps/cfg/config-vars").json() == {}
    assert Release.objects.count() == 1


def test_rollback_copies_build_and_config(api, app, deployed, set_config):
    deployed("cfg", sha="aaaaaaa1")  # v2
    set_config("cfg", COLOR="blue")  # v3
    deployed("cfg", sha="bbbbbbb2")  # v4
    set_config("cfg", COLOR="red")  # v5
    response = api.post("/api/apps/cfg/releases", {"rollback": "v3"}, format="json")
    assert response.status_code == 201
    assert response.json()["version"] == 6
    assert response.json()["description"] == "Rollback to v3"
    assert response.json()["build"]["source_sha"] == "aaaaaaa1"
    assert response.json()["current"] is True
    assert api.get("/api/apps/cfg/config-vars").json() == {"COLOR": "blue"}
    info = api.get("/api/apps/cfg/releases/v6").json()
    assert info["config_vars"] == {"COLOR": "blue"}


def test_rollback_without_version_goes_to_previous(api, app, set_config):
    set_config("cfg", A="1")
    set_config("cfg", A="2")
    response = api.post("/api/apps/cfg/releases", {}, format="json")
    assert response.json()["description"] == "Rollback to v2"
    assert api.get("/api/apps/cfg/config-vars").json() == {"A": "1"}


@pytest.mark.parametrize("version, status", [("v99", 404), ("banana", 422), ("-1", 422)])
def test_rollback_to_missing_version(api, app, version, status):
    response = api.post("/api/apps/cfg/releases", {"rollback": version}, format="json")
    assert response.status_code == status
    assert Release.objects.count() == 1


def test_rollback_to_failed_release_is_refused(api, app, deployed):
    release = deployed("cfg")
    Release.objects.filter(pk=release.pk).update(status=Release.Status.FAILED)
    response = api.post(
        "/api/apps/cfg/releases", {"rollback": f"v{release.version}"}, format="json"
    )
    assert response.status_code == 422
    assert "failed" in response.json()["message"]


@pytest.mark.django_db(transaction=True)
def test_release_numbers_are_unique_under_concurrency(api, app, user):
    """Versions come from a row lock; concurrent config changes never share a number."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from api.models import App
    from api.services.config import config_update

    if connection.vendor == "sqlite":
        # Only PostgreSQL lets two writers read the same latest version at once, so only
        # there can this fail; SQLite's in-memory test database locks whole tables and
        # refuses concurrent writers outright. CI (.ci/run) runs the suite on PostgreSQL.
        pytest.skip("runs on PostgreSQL (as in CI): SQLite serialises writers itself")
    app_obj = App.objects.get(name="cfg")

    def change(i):
        try:
            config_update(app=app_obj, changes={f"K{i}": "v"}, user=user)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(change, range(8)))
    versions = list(Release.objects.values_list("version", flat=True))
    assert sorted(versions) == list(range(1, 10))


@pytest.mark.django_db(transaction=True)
def test_the_next_version_waits_for_a_release_being_created(api, app, user):
    """release_version_next reads under the app's row lock: a release committed meanwhile
    counts, where a plain read would hand out the number that release takes."""
    import threading

    from django.db import connection, transaction

    from api.models import App
    from api.selectors import config_current
    from api.services.releases import release_create, release_version_next

    if connection.vendor == "sqlite":
        pytest.skip("runs on PostgreSQL (as in CI): SQLite serialises writers itself")
    app_obj = App.objects.get(name="cfg")
    config = config_current(app=app_obj)
    before = release_version_next(app=app_obj)
    locked, proceed, seen = threading.Event(), threading.Event(), []

    def create():
        try:
            with transaction.atomic():
                release_create(app=app_obj, build=None, config=config, description="x", user=user)
                locked.set()  # the row lock is held until this transaction commits
                proceed.wait(10)
        finally:
            connection.close()

    def read():
        try:
            seen.append(release_version_next(app=app_obj))
        finally:
            connection.close()

    creator = threading.Thread(target=create)
    creator.start()
    assert locked.wait(10)
    reader = threading.Thread(target=read)
    reader.start()
    reader.join(1)  # it must be waiting on the lock, not reading the old maximum
    proceed.set()
    creator.join(10)
    reader.join(10)
    assert seen == [before + 1]
