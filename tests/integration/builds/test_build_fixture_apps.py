"""Each fixture app builds into an image whose web process answers HTTP on $PORT."""

import json

import pytest

from builds.engine import RUN_IMAGE, BuildFailed, NoBuildpackDetected

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def python_req(builder):
    return builder.build("python-req", cache_key="python-req-rebuild")


def test_python_req_builds_an_image_that_serves(python_req, run_web, docker_client):
    result, lines = python_req
    assert result.buildpacks == ["python"]
    assert result.process_types == {"web": "python app.py"}
    assert "-----> Installing requirements with pip" in lines
    assert "python-req ok six=1.17.0 python=3.11" in run_web(result.image)


def test_app_image_has_labels_non_root_user_and_no_build_ca(python_req, docker_client):
    result, _ = python_req
    image = docker_client.images.get(result.image)
    labels = image.labels
    assert labels["pier.app"].endswith("-python-req")
    assert labels["pier.build"]
    assert json.loads(labels["pier.process_types"]) == {"web": "python app.py"}
    config = image.attrs["Config"]
    assert config["User"] == "app"
    assert config["WorkingDir"] == "/app"
    assert not any(var.split("=")[0] == "SSL_CERT_FILE" for var in config["Env"])
    out = docker_client.containers.run(
        result.image,
        [
            "sh",
            "-c",
            "id -un; stat -c %U /app/app.py /app/.venv/bin/python; "
            "ls /etc/pier 2>/dev/null | wc -l; command -v python",
        ],
        remove=True,
    ).decode()
    assert out.split() == ["app", "app", "app", "0", "/app/.venv/bin/python"]


def test_rebuild_reuses_the_installed_dependencies_and_their_layer(
    python_req, builder, docker_client
):
    first, _ = python_req
    result, lines = builder.build("python-req", cache_key="python-req-rebuild")
    log = "\n".join(lines)
    assert "reusing the cached virtualenv, nothing to install" in log
    assert "Downloading" not in log and "Collecting" not in log
    assert result.process_types == {"web": "python app.py"}
    # The virtualenv's layer (the first one after the run image's) is the same layer.
    base = len(docker_client.images.get(RUN_IMAGE).attrs["RootFS"]["Layers"])
    before = docker_client.images.get(first.image).attrs["RootFS"]["Layers"]
    after = docker_client.images.get(result.image).attrs["RootFS"]["Layers"]
    assert len(before) == len(after) == base + 2
    assert after[: base + 1] == before[: base + 1]


def test_a_changed_included_requirement_rebuilds_the_dependency_layer(
    builder, run_web, docker_client
):
    app = builder.copy_fixture("python-req")
    (app / "requirements").mkdir()
    (app / "requirements.txt").write_text("-r requirements/base.txt\n")
    (app / "requirements/base.txt").write_text("six==1.17.0\n")
    first, _ = builder.build("python-req", source_dir=app, cache_key="python-req-include")
    assert "six=1.17.0" in run_web(first.image)

    # Only the included file changes: requirements.txt itself is the same.
    (app / "requirements/base.txt").write_text("six==1.16.0\n")
    second, lines = builder.build("python-req", source_dir=app, cache_key="python-req-include")
    log = "\n".join(lines)
    assert "reusing the cached virtualenv" not in log
    assert "/app/.venv: new dependencies, making their layer" in log
    assert "six=1.16.0" in run_web(second.image)
    assert _layers(second) != _layers(first)

    third, lines = builder.build("python-req", source_dir=app, cache_key="python-req-include")
    assert "/app/.venv: dependencies unchanged, their layer reused" in "\n".join(lines)
    assert _layers(third) == _layers(second)
    # The app's code is the one layer on top of the dependency layer's image.
    [layer] = _layers(third)
    base = docker_client.images.get(layer).attrs["RootFS"]["Layers"]
    top = docker_client.images.get(third.image).attrs["RootFS"]["Layers"]
    assert top[: len(base)] == base and len(top) == len(base) + 1
    assert "six=1.16.0" in run_web(third.image)


def _layers(result) -> list[str]:
    return json.loads(result.labels["pier.dependency_layers"])


@pytest.mark.parametrize(
    ("fixture", "buildpacks", "answer"),
    [
        ("python-uv", ["python"], "python-uv ok six=1.17.0"),
        ("node", ["nodejs"], "node ok ms=1m built at build time NODE_ENV=production"),
        ("static", ["static"], "<h1>static ok</h1>"),
        ("procfile-only", ["procfile"], "procfile-only ok"),
        ("third-party-buildpack", ["./vendor/hello-buildpack"], "hello: Hello from a third"),
        ("dockerfile", ["dockerfile"], "dockerfile ok"),
    ],
)
def test_fixture_app_builds_and_serves(builder, run_web, fixture, buildpacks, answer):
    result, _ = builder.build(fixture)
    assert result.buildpacks == buildpacks
    assert "web" in result.process_types
    path = "/hello.txt" if fixture == "dockerfile" else "/"
    assert answer in run_web(result.image, path=path)


def test_django_app_gets_collectstatic_and_a_gunicorn_web_process(builder, run_web):
    result, lines = builder.build("django")
    assert "-----> $ python manage.py collectstatic --noinput" in lines
    assert result.process_types["web"].startswith("gunicorn hello.wsgi")
    assert "django ok version=5.2.19 collectstatic=True" in run_web(result.image)


def test_collectstatic_is_skipped_with_disable_collectstatic(builder):
    result, lines = builder.build("django", env={"DISABLE_COLLECTSTATIC": "1"})
    assert "-----> Skipping Django collectstatic (DISABLE_COLLECTSTATIC=1)" in lines


def test_app_without_a_buildpack_fails_listing_what_each_looks_for(builder):
    with pytest.raises(NoBuildpackDetected) as failed:
        builder.build("no-detect")
    message = failed.value.message
    for looked_for in (
        "requirements.txt",
        "pyproject.toml",
        "package.json",
        "index.html",
        "Procfile",
        "Dockerfile",
        "BUILDPACK_URL",
    ):
        assert looked_for in message


def test_failing_pip_install_fails_the_build_with_pips_message(builder):
    with pytest.raises(BuildFailed) as failed:
        builder.build("pip-fails")
    assert "Failed to install the dependencies in requirements.txt" in failed.value.message
    assert "pier-fixture-no-such-package-7c1e" in "\n".join(failed.value.log_lines)


def test_unavailable_python_version_fails_naming_what_the_stack_has(builder):
    app = builder.copy_fixture("python-req")
    (app / ".python-version").write_text("3.12\n")
    with pytest.raises(BuildFailed) as failed:
        builder.build("python-req", source_dir=app, cache_key="py312")
    assert "Python 3.12 is not available on this stack" in failed.value.message
    assert "provides Python 3.11" in failed.value.message
