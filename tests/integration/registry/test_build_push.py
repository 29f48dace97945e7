"""Builds push their image to Pier's registry; a registry that is down fails the build,
nothing released; old release images leave the registry as PIER_KEEP_RELEASE_IMAGES says."""

import httpx
import pytest

from builds.paths import build_output_path
from registry.images import MANIFEST_TYPES


def manifest_status(setup, reference: str, token: str) -> int:
    """Return the HTTP status of a manifest, asked with a user's token from the endpoint."""
    repository, _, digest = reference.removeprefix(f"{setup.address}/").partition("@")
    granted = httpx.get(setup.realm, params={"service": setup.address,
                                             "scope": f"repository:{repository}:pull"},
                        auth=("me", token)).json()["token"]
    return httpx.head(f"http://{setup.address}/v2/{repository}/manifests/{digest}",
                      headers={"Authorization": f"Bearer {granted}",
                               "Accept": MANIFEST_TYPES}).status_code


@pytest.fixture
def pushed_app(user, pier_registry):
    from api.services.apps import app_create

    return app_create(user=user, name="pushed-app")


@pytest.mark.django_db(transaction=True)
def test_a_build_pushes_its_image_and_records_where_to_pull_it(
        pushed_app, pier_registry, real_build, user):
    build = real_build("pushed-app", {})
    assert build.status == "succeeded", build_output_path(build).read_text()
    setup = pier_registry.setup
    assert build.image_ref.startswith(f"{setup.address}/pushed-app@sha256:")
    assert manifest_status(setup, build.image_ref, user.plaintext_token) == 200
    assert pushed_app.releases.first().build == build  # after v1, the app's initial release


@pytest.mark.django_db(transaction=True)
def test_registry_down_fails_the_build_clearly_and_releases_nothing(
        pushed_app, pier_registry, real_build):
    pier_registry.process.terminate()
    pier_registry.process.wait(10)
    build = real_build("pushed-app", {})
    assert build.status == "failed"
    output = build_output_path(build).read_text()
    assert f"Pier's registry at {pier_registry.setup.address}" in output, output
    assert "Is the `registry` process running? Push again when it is." in output
    assert not pushed_app.releases.exclude(build=None).exists()  # v1 (initial) only


@pytest.mark.django_db(transaction=True)
def test_old_release_images_are_deleted_from_the_registry(
        pushed_app, pier_registry, real_build, user, settings):
    settings.PIER_KEEP_RELEASE_IMAGES = 1
    first = real_build("pushed-app", {})
    reference = first.image_ref
    second = real_build("pushed-app", {"extra.txt": "a change"})
    assert second.status == "succeeded", build_output_path(second).read_text()
    first.refresh_from_db()
    assert first.image_ref == ""
    assert manifest_status(pier_registry.setup, reference, user.plaintext_token) == 404
    assert manifest_status(pier_registry.setup, second.image_ref, user.plaintext_token) == 200
