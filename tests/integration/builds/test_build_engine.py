"""How the engine runs builds: buildpack choice, config, caches, time limits, CA and proxy."""

import stat
from pathlib import Path

import pytest

from builds.engine import BuildTimedOut

pytestmark = pytest.mark.docker


def write_buildpack(
    root: Path, *, detect: str = "exit 0", compile: str = "true", release: str = "echo '--- {}'"
) -> Path:
    """Write a minimal buildpack following the buildpack API under root."""
    for name, body in (("detect", detect), ("compile", compile), ("release", release)):
        path = root / "bin" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return root


def test_buildpack_url_config_var_and_env_dir_reach_a_third_party_buildpack(builder, run_web):
    app = builder.copy_fixture("third-party-buildpack")
    (app / ".buildpacks").unlink()
    result, lines = builder.build(
        "third-party-buildpack",
        source_dir=app,
        env={"BUILDPACK_URL": "vendor/hello-buildpack", "GREETING": "Howdy"},
        cache_key="hello-url",
    )
    assert result.buildpacks == ["vendor/hello-buildpack"]
    assert "-----> HelloFramework app detected" in lines
    assert "Howdy: Hello from a third-party buildpack" in run_web(result.image)


def test_the_cache_dir_persists_between_builds_of_an_app(builder):
    _, first = builder.build("third-party-buildpack", cache_key="hello-cache")
    _, second = builder.build("third-party-buildpack", cache_key="hello-cache")
    assert "       compile number 1 with this cache" in first
    assert "       compile number 2 with this cache" in second


def test_several_buildpacks_run_in_order_and_procfile_wins(builder, run_web):
    app = builder.copy_fixture("third-party-buildpack")
    write_buildpack(
        app / "vendor" / "second",
        detect="echo Second",
        compile='echo "-----> second ran after: $(ls $1/bin)"',
        release="printf -- '---\\ndefault_process_types:\\n  worker: sleep 1000\\n'",
    )
    (app / ".buildpacks").write_text("# hello first\n./vendor/hello-buildpack\nvendor/second\n")
    (app / "Procfile").write_text("web: GREETING_OVERRIDE=1 bin/hello-server\n")
    result, lines = builder.build("third-party-buildpack", source_dir=app, cache_key="multi")
    assert result.buildpacks == ["./vendor/hello-buildpack", "vendor/second"]
    assert "-----> second ran after: hello-server" in lines
    assert result.process_types == {
        "web": "GREETING_OVERRIDE=1 bin/hello-server",
        "worker": "sleep 1000",
    }
    assert "hello: Hello" in run_web(result.image)


def test_a_build_past_its_time_limit_is_stopped(builder, docker_client, tmp_path):
    app = tmp_path / "slow"
    app.mkdir()
    write_buildpack(app / "bp", compile="echo compiling; sleep 300")
    (app / ".buildpacks").write_text("bp\n")
    seen_running = []

    def log(line: str) -> None:
        if line == "compiling":  # the line arrives while the build container still runs
            seen_running.append(_build_containers(docker_client, builder, "slow"))

    with pytest.raises(BuildTimedOut) as failed:
        builder.build("slow", source_dir=app, timeout=20, log=log)
    assert "time limit of 20 s" in failed.value.message
    assert seen_running and seen_running[0] == ["running"]
    assert _build_containers(docker_client, builder, "slow") == []


def _build_containers(client, builder, name: str) -> list[str]:
    filters = {"label": [f"pier.app=t{builder.session_id}-{name}", "pier.role=build"]}
    return [c.status for c in client.containers.list(all=True, filters=filters)]


def test_build_containers_get_the_ca_bundle_and_proxy_settings(builder, tmp_path):
    app = tmp_path / "env"
    app.mkdir()
    write_buildpack(
        app / "bp",
        compile="for v in SSL_CERT_FILE PIP_CERT REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS "
        'HTTPS_PROXY no_proxy; do eval "echo $v=\\$$v"; done; '
        'test -s "$SSL_CERT_FILE" && echo ca-readable',
    )
    (app / ".buildpacks").write_text("bp\n")
    bundle = tmp_path / "ca.pem"
    bundle.write_text("a CA bundle for the test\n")
    proxy = {"HTTPS_PROXY": "http://proxy.test:3128", "no_proxy": "localhost"}
    result, lines = builder.build("env", source_dir=app, ca_bundle=bundle, proxy_env=proxy)
    ca = "/etc/pier/ca-bundle.crt"
    for variable in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        assert f"{variable}={ca}" in lines
    assert "HTTPS_PROXY=http://proxy.test:3128" in lines
    assert "no_proxy=localhost" in lines
    assert "ca-readable" in lines
