"""The build plan: what a build will do, decided from the source and config vars alone."""

import pytest

from builds.engine import BuildFailed
from builds.engine import container as bc
from builds.engine.plan import BUILDPACKS, DOCKERFILE, plan_build


def plan(source_dir, env=None, **overrides):
    options = {
        "app": "shop",
        "build_id": "b1",
        "source_dir": source_dir,
        "env": env or {},
        "cache_volume": "pier-cache-id1",
        "ca_bundle": None,
        "proxy_env": {},
        "source_version": None,
        **overrides,
    }
    return plan_build(**options)


def test_buildpacks_detect_by_default_with_the_apps_cache_and_labels(tmp_path):
    (tmp_path / "Procfile").write_text("web: gunicorn app:wsgi\n")
    result = plan(tmp_path, source_version="abc123")
    assert result.builder == BUILDPACKS
    assert result.buildpacks == ()
    assert not result.dockerfile_fallback
    assert result.procfile == {"web": "gunicorn app:wsgi"}
    assert result.labels == {"pier.app": "shop", "pier.build": "b1"}
    assert result.cache_volume == "pier-cache-id1"
    volumes = [m for m in result.mounts if m["Type"] == "volume"]
    assert [(m["Source"], m["Target"]) for m in volumes] == [("pier-cache-id1", bc.CACHE_DIR)]
    buildpacks = next(m for m in result.mounts if m["Target"] == bc.BUILDPACKS_MOUNT)
    assert buildpacks["ReadOnly"]
    assert result.environment["SOURCE_VERSION"] == "abc123"
    assert result.environment["PIER_BUILDPACKS"] == ""
    assert "PIER_DOCKERFILE_FALLBACK" not in result.environment


def test_config_vars_become_env_dir_files_not_container_environment(tmp_path):
    env = {"SECRET_KEY": "s3cret", "bad-name": "x", "": "y", "PATH_X": "1"}
    result = plan(tmp_path, env=env)
    assert result.env_files == {"env/SECRET_KEY": b"s3cret", "env/PATH_X": b"1"}
    assert "s3cret" not in result.environment.values()


def test_a_dockerfile_is_the_fallback_only_when_no_buildpack_is_asked_for(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert plan(tmp_path).dockerfile_fallback
    assert plan(tmp_path).environment["PIER_DOCKERFILE_FALLBACK"] == "1"
    asked = plan(tmp_path, env={"BUILDPACK_URL": "https://example.com/bp.tgz"})
    assert not asked.dockerfile_fallback
    assert asked.buildpacks == ("https://example.com/bp.tgz",)
    assert asked.environment["PIER_BUILDPACKS"] == "https://example.com/bp.tgz"


def test_pier_builder_dockerfile_plans_no_build_container(tmp_path):
    result = plan(tmp_path, env={"PIER_BUILDER": "dockerfile"})
    assert result.builder == DOCKERFILE
    assert result.mounts == ()
    assert result.environment is None


def test_ca_bundle_and_proxy_reach_the_build_container(tmp_path):
    bundle = tmp_path / "ca.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    proxy = {"HTTPS_PROXY": "http://proxy:3128", "https_proxy": "http://proxy:3128"}
    result = plan(tmp_path, ca_bundle=bundle, proxy_env=proxy)
    assert result.environment["PIP_CERT"] == bc.CA_MOUNT
    assert result.environment["HTTPS_PROXY"] == "http://proxy:3128"
    ca = next(m for m in result.mounts if m["Target"] == bc.CA_MOUNT)
    assert ca["Source"] == str(bundle.resolve()) and ca["ReadOnly"]


def test_missing_ca_bundle_and_bad_procfile_fail_the_plan_saying_what(tmp_path):
    with pytest.raises(BuildFailed, match="CA bundle .* does not exist"):
        plan(tmp_path, ca_bundle=tmp_path / "missing.crt")
    (tmp_path / "Procfile").write_text("this is not a procfile line\n")
    with pytest.raises(BuildFailed):
        plan(tmp_path)
