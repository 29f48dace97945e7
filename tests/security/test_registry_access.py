"""Pier's registry: a user pushes and pulls only the repositories of apps they may access,
and a destroyed app's images never pass to the next app of its name."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "registry"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "runtime"))
from registry_helpers import DockerUser  # noqa: E402
from rt_helpers import busybox_image  # noqa: E402


@pytest.fixture
def two_users(pier_registry, make_user, tmp_path, docker_client):
    from api.services.apps import app_create

    address = pier_registry.setup.address
    alice, mallory = make_user("alice@example.com"), make_user("mallory@example.com")
    app_create(user=alice, name="alices-app")
    app_create(user=mallory, name="mallorys-app")
    image = busybox_image(docker_client)
    docker_alice = DockerUser(address, alice.plaintext_token, tmp_path / "alice")
    docker_mallory = DockerUser(address, mallory.plaintext_token, tmp_path / "mallory")
    pushed = docker_alice.push(image, "alices-app:1.0")
    assert pushed.returncode == 0, pushed.stderr
    return alice, docker_alice, mallory, docker_mallory, image


@pytest.mark.django_db(transaction=True)
def test_a_user_cannot_pull_another_users_app_image(two_users, docker_client):
    alice, docker_alice, mallory, docker_mallory, _ = two_users
    docker_client.images.remove(f"{docker_alice.address}/alices-app:1.0")  # no local copy
    refused = docker_mallory.pull("alices-app:1.0")
    assert refused.returncode != 0
    assert "denied" in refused.stderr or "unauthorized" in refused.stderr, refused.stderr
    assert docker_alice.pull("alices-app:1.0").returncode == 0  # its owner still can


@pytest.mark.django_db(transaction=True)
def test_a_user_cannot_push_into_another_users_app_repository(two_users):
    alice, docker_alice, mallory, docker_mallory, image = two_users
    refused = docker_mallory.push(image, "alices-app:1.0")
    assert refused.returncode != 0
    assert "denied" in refused.stderr or "unauthorized" in refused.stderr, refused.stderr
    refused = docker_mallory.push(image, "no-such-app:1")  # nor create repositories at will
    assert refused.returncode != 0


@pytest.mark.django_db(transaction=True)
def test_a_destroyed_apps_images_do_not_pass_to_the_next_app_of_its_name(
        two_users, docker_client, redis_url, redis_client):
    from api.errors import Conflict
    from api.services.apps import app_create, app_destroy
    from tests.helpers import celery_broker

    alice, docker_alice, mallory, docker_mallory, _ = two_users
    with celery_broker(redis_url):
        app_destroy(user=alice, name="alices-app")
    # Alice's tokens on the name may still be valid: nobody gets it until they expire.
    with pytest.raises(Conflict, match="stay valid"):
        app_create(user=mallory, name="alices-app")
    redis_client.delete("pier:registry:freed:alices-app")  # as if they had expired
    app_create(user=mallory, name="alices-app")
    docker_client.images.remove(f"{docker_alice.address}/alices-app:1.0")
    gone = docker_mallory.pull("alices-app:1.0")
    assert gone.returncode != 0
    assert "not found" in gone.stderr or "unknown" in gone.stderr, gone.stderr


@pytest.mark.django_db(transaction=True)
def test_a_renamed_apps_images_move_with_it_not_to_its_old_name(
        two_users, docker_client, redis_client):
    from api.services.apps import app_create, app_update

    alice, docker_alice, mallory, docker_mallory, _ = two_users
    app_update(user=alice, name="alices-app", new_name="alices-new")
    redis_client.delete("pier:registry:freed:alices-app")  # as if its tokens had expired
    app_create(user=mallory, name="alices-app")
    docker_client.images.remove(f"{docker_alice.address}/alices-app:1.0")
    gone = docker_mallory.pull("alices-app:1.0")
    assert gone.returncode != 0
    assert "not found" in gone.stderr or "unknown" in gone.stderr, gone.stderr
    moved = docker_alice.pull("alices-new:1.0")
    assert moved.returncode == 0, moved.stderr


@pytest.mark.django_db(transaction=True)
def test_the_pull_credential_nodes_get_pulls_its_own_apps_image_only(two_users, docker_client):
    """What a Swarm service carries for its nodes' pull: that app's repository, pull only."""
    import docker

    from registry.images import pull_auth

    alice, docker_alice, mallory, docker_mallory, image = two_users
    assert docker_mallory.push(image, "mallorys-app:1.0").returncode == 0
    address = docker_alice.address
    for reference in ("alices-app:1.0", "mallorys-app:1.0"):
        docker_client.images.remove(f"{address}/{reference}")
    alices = pull_auth(f"{address}/alices-app@sha256:{'0' * 64}")
    docker_client.images.pull(f"{address}/alices-app", tag="1.0", auth_config=alices)
    with pytest.raises(docker.errors.APIError, match="denied|unauthorized"):
        docker_client.images.pull(f"{address}/mallorys-app", tag="1.0", auth_config=alices)
    pushed = docker_client.images.push(f"{address}/alices-app", tag="1.0", auth_config=alices)
    assert '"error"' in pushed and ("denied" in pushed or "unauthorized" in pushed), pushed
    docker_client.images.remove(f"{address}/alices-app:1.0")
    # An image of no registry of Pier's gets no credential of Pier's.
    assert pull_auth(f"registry.example.com/alices-app@sha256:{'0' * 64}") is None
