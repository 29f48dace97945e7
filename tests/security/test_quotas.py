"""Finding 6: unbounded resources. Quotas per user (apps, processes, memory), per app (config
vars), per request (API bodies, git pushes) and per build (output), each with a clear error."""

import os
import tarfile

import httpx
import pytest

from api.models import Addon, App, Build, Config, Formation
from builds import services as build_services
from builds.engine import BuildFailed
from builds.logstream import read_file, stream_key
from builds.paths import build_dir, build_output_path
from tests.helpers import git


def test_apps_per_user(api, settings, make_user, client_for):
    settings.PIER_MAX_APPS_PER_USER = 2
    for name in ("one", "two"):
        assert api.post("/api/apps", {"name": name}, format="json").status_code == 201
    refused = api.post("/api/apps", {"name": "three"}, format="json")
    assert refused.status_code == 422
    assert "PIER_MAX_APPS_PER_USER" in refused.json()["message"]
    assert not App.objects.filter(name="three").exists()
    other = client_for(make_user("other@example.com"))
    assert other.post("/api/apps", {"name": "theirs"}, format="json").status_code == 201


@pytest.fixture
def two_apps(api, deployed):
    for name in ("first", "second"):
        api.post("/api/apps", {"name": name}, format="json")
        deployed(name, {"web": "gunicorn app:app"})
    return "first", "second"


def _scale(api, app: str, **fields):
    return api.patch(f"/api/apps/{app}/formation", {"updates": [{"type": "web", **fields}]},
                     format="json")


def test_processes_per_user_count_across_their_apps(api, two_apps, settings):
    settings.PIER_MAX_PROCESSES_PER_USER = 3
    assert _scale(api, "first", quantity=2).status_code == 200
    refused = _scale(api, "second", quantity=2)
    assert refused.status_code == 422
    assert "PIER_MAX_PROCESSES_PER_USER" in refused.json()["message"]
    assert Formation.objects.get(app__name="second", type="web").quantity == 1  # nothing saved
    # A collaborator scaling the owner's app spends the owner's quota too.
    assert _scale(api, "second", quantity=1).status_code == 200


def test_memory_per_user_counts_sizes(api, two_apps, settings):
    settings.PIER_MAX_MEMORY_MB_PER_USER = 1536  # web=1 standard in each app: 1024 MB
    assert _scale(api, "first", size="large").status_code == 200  # 1024 + 512
    refused = _scale(api, "second", size="large")  # 1024 + 1024
    assert refused.status_code == 422
    assert "PIER_MAX_MEMORY_MB_PER_USER" in refused.json()["message"]
    assert Formation.objects.get(app__name="second", type="web").size == "standard"


def test_app_json_formation_counts_against_the_quota(api, user, settings):
    from api.errors import Invalid
    from api.selectors import config_current
    from api.services.releases import release_create

    settings.PIER_MAX_PROCESSES_PER_USER = 3
    api.post("/api/apps", {"name": "greedy"}, format="json")
    app = App.objects.get(name="greedy")
    build = Build.objects.create(
        app=app, status=Build.Status.SUCCEEDED, source_sha="1a2b3c4d", creator=user,
        process_types={"web": "gunicorn app:app"}, image="pier/greedy:1",
        formation_defaults={"web": {"quantity": 4}})
    with pytest.raises(Invalid, match="PIER_MAX_PROCESSES_PER_USER"):
        release_create(app=app, build=build, config=config_current(app=app),
                       description="Deploy", user=user)
    assert not Formation.objects.filter(app=app).exists()  # nothing saved
    assert app.releases.count() == 1  # v1 only: the deploy made no release


def test_config_vars_are_bounded_per_app(api, settings):
    api.post("/api/apps", {"name": "cfg"}, format="json")
    big = "x" * 20_000  # under the per-value limit, but two of them pass 32 kB
    assert api.patch("/api/apps/cfg/config-vars", {"A": big}, format="json").status_code == 200
    configs = Config.objects.filter(app__name="cfg").count()
    refused = api.patch("/api/apps/cfg/config-vars", {"B": big}, format="json")
    assert refused.status_code == 422
    assert "PIER_MAX_CONFIG_BYTES" in refused.json()["message"]
    assert Config.objects.filter(app__name="cfg").count() == configs  # no row copied
    # Replacing a value with a smaller one is fine; removing always is.
    assert api.patch("/api/apps/cfg/config-vars", {"A": "small", "B": big},
                     format="json").status_code == 200
    assert api.patch("/api/apps/cfg/config-vars", {"B": None}, format="json").status_code == 200


def test_api_request_bodies_are_bounded(asgi_server, user, settings):
    settings.PIER_MAX_REQUEST_KB = 64
    headers = {"Authorization": f"Bearer {user.plaintext_token}",
               "Content-Type": "application/json"}
    body = b'{"name": "' + b"a" * 200_000 + b'"}'

    declared = httpx.post(f"{asgi_server}/api/apps", content=body, headers=headers)
    assert declared.status_code == 413
    assert declared.json()["id"] == "payload_too_large"
    assert "PIER_MAX_REQUEST_KB" in declared.json()["message"]

    def chunks():  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 16_384):
            yield body[start:start + 16_384]

    chunked = httpx.post(f"{asgi_server}/api/apps", content=chunks(), headers=headers)
    assert chunked.status_code == 413
    assert "PIER_MAX_REQUEST_KB" in chunked.json()["message"]
    small = httpx.post(f"{asgi_server}/api/apps", json={"name": "fits"}, headers=headers)
    assert small.status_code == 201




@pytest.mark.parametrize("post_buffer", ["1m", "16m"], ids=["chunked", "content-length"])
def test_a_push_past_the_limit_is_refused_with_a_message_git_shows(
    asgi_server, user, settings, tmp_path, post_buffer
):
    from api.services.apps import app_create

    settings.PIER_MAX_PUSH_MB = 1
    settings.PIER_REPOS_DIR = tmp_path / "repos"
    app = app_create(user=user, name="hefty")
    repo = tmp_path / "src"
    repo.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    (repo / "blob.bin").write_bytes(os.urandom(3 * 2**20))  # incompressible: a 3 MB pack
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "-m", "big", cwd=repo)
    url = asgi_server.replace("http://", f"http://u:{user.plaintext_token}@") + "/hefty.git"
    push = git("-c", f"http.postBuffer={post_buffer}", "push", url, "main", cwd=repo,
               check=False, timeout=120)
    assert push.returncode != 0
    assert "larger than the 1 MB a push may be here (PIER_MAX_PUSH_MB)" in push.stderr, push.stderr
    heads = tmp_path / "repos" / f"{app.id}.git" / "refs" / "heads"
    assert not (heads / "main").exists()


def test_build_output_is_cut_at_the_limit_with_one_note(user, redis_client, settings, tmp_path,
                                                        monkeypatch):
    from api.services.apps import app_create

    settings.PIER_BUILDS_DIR = tmp_path / "builds"
    settings.PIER_MAX_BUILD_LOG_MB = 1

    def chatty_build(*, log, **kwargs):  # a buildpack that prints 8 MB, then fails
        for i in range(80_000):
            log(f"line {i} " + "y" * 90)
        raise BuildFailed("compile failed")

    monkeypatch.setattr(build_services.images, "build_image", chatty_build)
    build = Build.objects.create(app=app_create(user=user, name="noisy"), creator=user)
    build_dir(build).mkdir(parents=True)
    with tarfile.open(build_dir(build) / "source.tar", "w"):
        pass
    redis_client.set(build_services.listener_key(build.id), "1")

    build_services.build_run(build_id=build.id)

    text = read_file(build_output_path(build))
    assert len(text.encode()) < 2**20 + 4096
    assert text.count("PIER_MAX_BUILD_LOG_MB") == 1
    assert "line 80000" not in text and "line 79999" not in text
    # What Pier says about the build's end is never cut.
    assert text.rstrip().endswith("The running release is unchanged.")
    assert "compile failed" in text
    streamed = redis_client.xrange(stream_key(str(build.id)))
    assert len(streamed) < 12_000


def test_addon_memory_counts_against_the_owner_s_quota(api, two_apps, settings):
    """A user cannot take the machine's memory through add-ons, which run like processes."""
    settings.PIER_MAX_MEMORY_MB_PER_USER = 1536  # web=1 standard in each app: 1024 MB
    refused = api.post("/api/apps/first/addons", {"service": "postgresql", "plan": "standard"},
                       format="json")  # 1024 + 1024
    assert refused.status_code == 422
    assert "PIER_MAX_MEMORY_MB_PER_USER" in refused.json()["message"]
    assert not Addon.objects.exists()  # nor its attachment: DATABASE_URL stays free
    assert not App.objects.get(name="first").addon_attachments.exists()
    # An add-on already running leaves that much less for processes: 1024 + 256 + 512.
    Addon.objects.create(name="redis-quota-1", service="redis", plan="mini", state="available",
                         provider=Addon.Provider.CONTAINER, app=App.objects.get(name="first"))
    refused = _scale(api, "first", size="large")
    assert refused.status_code == 422
    assert "add-on" in refused.json()["message"]
    # One on the operator's managed server does not use this machine's memory.
    Addon.objects.filter(name="redis-quota-1").update(provider=Addon.Provider.SERVER)
    assert _scale(api, "first", size="large").status_code == 200
