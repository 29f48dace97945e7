"""`docker login` to Pier's registry with an API token; a wrong token is refused."""

import pytest
from registry_helpers import DockerUser


@pytest.mark.django_db(transaction=True)
def test_docker_login_takes_an_api_token_as_password(pier_registry, user, tmp_path):
    docker = DockerUser(pier_registry.setup.address, user.plaintext_token, tmp_path)
    assert docker.login.returncode == 0, docker.login.stderr
    assert "Login Succeeded" in docker.login.stdout


@pytest.mark.django_db(transaction=True)
def test_docker_login_refuses_a_wrong_token(pier_registry, user, tmp_path):
    docker = DockerUser(pier_registry.setup.address, "not-a-pier-token", tmp_path)
    assert docker.login.returncode != 0
    assert "unauthorized" in docker.login.stderr.lower(), docker.login.stderr
