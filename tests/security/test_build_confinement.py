"""Build code is untrusted: it runs non-root, within limits, on a network of its own.

Each attack runs for real, in a build on the real Docker Engine: a third-party buildpack
(a folder of the app named by `.buildpacks`) whose bin/compile is the attack, or a
Dockerfile whose RUN step is.
"""

from __future__ import annotations

import re
import socket
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest

from builds.engine import BuildFailed, BuildLimits
from builds.engine.confinement import BRIDGE, NETWORK, ensure_build_network
from runtime.backends.docker import Backend
from tests.integration.builds import conftest as builds

# The real-build fixtures of tests/integration/builds (pytest finds fixtures by name here).
session_id = builds.session_id
made, builder = builds.made, builds.builder
network, run_web = builds.network, builds.run_web

pytestmark = pytest.mark.docker

SMALL = BuildLimits(memory_mb=512, pids=128, cpus=1)
STACK_RUN = "pier/stack-run:latest"

# Print CONNECTED or BLOCKED for each host:port given as an argument (3 s to answer).
PROBE = """\
import socket, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        print("CONNECTED", target, flush=True)
    except OSError as e:
        print("BLOCKED", target, e, flush=True)
"""
FORK_BOMB = """\
import os, sys, time
children = 0
while children < 100000:
    try:
        pid = os.fork()
    except OSError as e:
        print(f"fork refused after {children} processes: {e}", flush=True)
        sys.exit(1)
    if pid == 0:
        time.sleep(120)
        os._exit(0)
    children += 1
print(f"forked {children} processes: no limit", flush=True)
"""
ALLOCATE_10GB = "block = b'x' * (10 * 1024**3); print('allocated 10 GB: no limit')"


def buildpack_app(root: Path, compile_body: str, files: dict[str, str] | None = None) -> Path:
    """Return an app whose own buildpack (vendor/attack) runs compile_body as bin/compile."""
    root.mkdir(parents=True)
    (root / ".buildpacks").write_text("./vendor/attack\n")
    bin_dir = root / "vendor" / "attack" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "detect").write_text("#!/bin/sh\necho Attack\n")
    (bin_dir / "compile").write_text('#!/bin/bash\nset -e\ncd "$1"\n' + compile_body)
    for name in ("detect", "compile"):
        (bin_dir / name).chmod(0o755)
    for name, text in (files or {}).items():
        (root / name).write_text(text)
    return root


def probe_app(root: Path, *targets: str) -> Path:
    return buildpack_app(root, f"python3 probe.py {' '.join(targets)}\n", files={"probe.py": PROBE})


def outcome(lines: list[str], target: str) -> str:
    for line in lines:
        if line.split()[1:2] == [target] and line.split()[0] in ("CONNECTED", "BLOCKED"):
            return line.split()[0]
    raise AssertionError(f"no probe result for {target} in:\n" + "\n".join(lines))


@pytest.fixture
def host_listener():
    """A TCP socket listening on 0.0.0.0 of the host, as a platform service would."""
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def build_gateway(docker_client) -> str:
    ensure_build_network(docker_client)
    network = docker_client.networks.get(NETWORK)
    return network.attrs["IPAM"]["Config"][0]["Gateway"]


def host_address() -> str:
    """Return this machine's address on its default route (not a Docker bridge)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.123", 9))  # no packet is sent: this only picks a route
        return s.getsockname()[0]


def test_build_runs_non_root_with_no_new_privileges_and_no_capabilities(builder, tmp_path):
    fields = r"^(Uid|Gid|NoNewPrivs|CapEff|CapPrm):"
    # It may write its build dir and cache (owned by the build user), like any buildpack.
    compile_body = f'grep -E \'{fields}\' /proc/self/status\ntouch "$1/x" "$2/x" "$3/../tmp/x"\n'
    _, lines = builder.build("whoami", source_dir=buildpack_app(tmp_path / "who", compile_body))
    status = {
        line.split(":")[0]: line.split(":", 1)[1].split()
        for line in lines
        if re.match(fields, line)
    }
    assert status["Uid"] == ["1000"] * 4
    assert status["Gid"] == ["1000"] * 4
    assert status["NoNewPrivs"] == ["1"]
    assert status["CapEff"] == status["CapPrm"] == ["0000000000000000"]


def test_a_cache_filled_by_root_builds_is_handed_to_the_build_user(
    builder, docker_client, session_id, tmp_path
):
    # Builds before confinement ran as root: their cache files belong to root.
    volume = f"pier-test-cache-{session_id}-rootcache"
    builder.made["volumes"].add(volume)
    docker_client.containers.run(
        STACK_RUN,
        ["mkdir -p /cache/python/venv && touch /cache/python/venv/old && chmod 700 /cache/python"],
        mounts=[builds.docker.types.Mount("/cache", volume, type="volume")],
        remove=True,
    )
    app = buildpack_app(tmp_path / "rootcache", 'rm -rf "$2/python" && echo REPLACED\n')
    _, lines = builder.build("rootcache", source_dir=app, cache_key="rootcache")
    assert "REPLACED" in lines


def test_a_dependency_layer_planted_by_one_app_never_reaches_another(
    builder, run_web, docker_client, tmp_path
):
    # The attacker has the victim's requirements (so the same dependency key) and a
    # buildpack after Python's that plants a module in the virtualenv: in its cache, and so
    # in its dependency layer.
    attacker = buildpack_app(
        tmp_path / "attacker",
        "for d in .venv/lib/python3*/site-packages; do\n"
        "  echo '__version__ = \"PLANTED\"' > \"$d/six.py\"\n"
        "done\n",
        files={"requirements.txt": "six==1.17.0\n", "app.py": "", "Procfile": "web: x\n"},
    )
    (attacker / ".buildpacks").write_text("python\n./vendor/attack\n")
    planted, lines = builder.build("attacker", source_dir=attacker, cache_key="attacker")
    assert "/app/.venv: new dependencies, making their layer" in "\n".join(lines)
    check = ["python", "-c", "import six; print(six.__version__)"]
    assert docker_client.containers.run(planted.image, check, remove=True).strip() == b"PLANTED"

    victim, lines = builder.build("python-req", cache_key="victim")
    assert "/app/.venv: new dependencies, making their layer" in "\n".join(lines)
    assert "six=1.17.0" in run_web(victim.image)


def test_build_cannot_reach_the_hosts_services(builder, docker_client, host_listener, tmp_path):
    gateway = f"{build_gateway(docker_client)}:{host_listener}"
    host = f"{host_address()}:{host_listener}"
    # The listener answers a container on Docker's default bridge, where builds used to run.
    control = docker_client.containers.run(
        STACK_RUN, [host], entrypoint=["python3", "-c", PROBE], network="bridge", remove=True
    ).decode()
    assert control.startswith("CONNECTED"), control
    _, lines = builder.build("host", source_dir=probe_app(tmp_path / "host", gateway, host))
    assert outcome(lines, gateway) == "BLOCKED"
    assert outcome(lines, host) == "BLOCKED"


def test_build_cannot_reach_app_processes(builder, docker_client, session_id, tmp_path):
    Backend().ensure_network()
    app = docker_client.containers.run(
        STACK_RUN,
        ["-m", "http.server", "5000"],
        entrypoint=["python3"],
        detach=True,
        network="pier-apps",
        labels={"pier.test": session_id},
    )
    try:
        app.reload()
        ip = app.attrs["NetworkSettings"]["Networks"]["pier-apps"]["IPAddress"]
        target = f"{ip}:5000"
        wait_listening(ip, 5000)  # the host reaches it: it is there and listening
        _, lines = builder.build("apps", source_dir=probe_app(tmp_path / "apps", target))
        assert outcome(lines, target) == "BLOCKED"
    finally:
        app.remove(force=True)


def wait_listening(host: str, port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            threading.Event().wait(0.1)
    raise AssertionError(f"nothing listens on {host}:{port}")


def test_build_cannot_reach_another_concurrent_build(builder, tmp_path):
    # Build A listens on 7000 and prints its address; build B, while A runs, connects to it.
    listener = textwrap.dedent("""\
        import socket
        s = socket.socket(); s.bind(("0.0.0.0", 7000)); s.listen(4)
        print("LISTENING", socket.gethostbyname(socket.gethostname()), flush=True)
        s.settimeout(120)
        conn, peer = s.accept()
        print("ACCEPTED", conn.recv(100).decode(), flush=True)
    """)
    app_a = buildpack_app(tmp_path / "a", "python3 listen.py\n", files={"listen.py": listener})
    seen: list[str] = []
    address = threading.Event()

    def watch(line: str) -> None:
        seen.append(line)
        if line.startswith("LISTENING"):
            address.set()

    thread = threading.Thread(
        target=builder.build, args=("concurrent-a",), kwargs={"source_dir": app_a, "log": watch}
    )
    thread.start()
    ip = None
    try:
        assert address.wait(120), "build A never listened:\n" + "\n".join(seen)
        ip = next(line.split()[1] for line in seen if line.startswith("LISTENING"))
        target = f"{ip}:7000"
        _, lines = builder.build("concurrent-b", source_dir=probe_app(tmp_path / "b", target))
        assert outcome(lines, target) == "BLOCKED"
    finally:
        # The host may connect to a build (that is how this test ends build A).
        if ip:
            with socket.create_connection((ip, 7000), timeout=10) as conn:
                conn.sendall(b"from the host")
        thread.join(60)
    assert "ACCEPTED from the host" in seen


def drops_to_metadata() -> int:
    out = subprocess.run(
        ["iptables", "-w", "-L", "DOCKER-USER", "-v", "-x", "-n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split() for line in out.splitlines()
            if "169.254.0.0/16" in line and f" {BRIDGE} " in line]
    assert rows, out
    return int(rows[0][0])


def test_build_cannot_reach_metadata_addresses(builder, docker_client, tmp_path):
    ensure_build_network(docker_client)
    before = drops_to_metadata()
    target = "169.254.169.254:80"
    _, lines = builder.build("metadata", source_dir=probe_app(tmp_path / "metadata", target))
    assert outcome(lines, target) == "BLOCKED"
    assert drops_to_metadata() > before  # dropped by the build network's rule


def test_build_still_installs_from_pypi(builder):
    result, lines = builder.build("python-req", cache_key="security-pypi")
    assert "-----> Installing requirements with pip" in lines
    assert any("six" in line and ("Downloading" in line or "Collecting" in line) for line in lines)
    assert result.buildpacks == ["python"]


def test_fork_bomb_in_a_buildpack_fails_only_that_build(
    builder, docker_client, session_id, tmp_path
):
    bystander = docker_client.containers.run(
        STACK_RUN, ["300"], entrypoint=["sleep"], detach=True, labels={"pier.test": session_id}
    )
    try:
        app = buildpack_app(tmp_path / "bomb", "python3 bomb.py\n", files={"bomb.py": FORK_BOMB})
        with pytest.raises(BuildFailed) as failed:
            builder.build("bomb", source_dir=app, limits=SMALL)
        log = "\n".join(failed.value.log_lines)
        refused = re.search(r"fork refused after (\d+) processes", log)
        assert refused, log
        assert int(refused.group(1)) < SMALL.pids
        assert "128 processes" in log  # the limits are named in the build output
        bystander.reload()
        assert bystander.status == "running"
        assert subprocess.run(["true"]).returncode == 0  # the host still forks
        builder.build("procfile-only")  # and the next build works
    finally:
        bystander.remove(force=True)


def test_large_allocation_in_a_buildpack_fails_only_that_build(builder, tmp_path):
    app = buildpack_app(tmp_path / "alloc", f'python3 -c "{ALLOCATE_10GB}"\n')
    with pytest.raises(BuildFailed) as failed:
        builder.build("alloc", source_dir=app, limits=SMALL)
    assert "ran out of memory" in failed.value.message
    assert "512 MB" in failed.value.message
    assert not any(line.strip().startswith("allocated") for line in failed.value.log_lines)


def dockerfile_app(root: Path, run: str, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / "Dockerfile").write_text(
        f'FROM {STACK_RUN}\nUSER root\nCOPY . /src\nRUN {run}\nCMD ["true"]\n'
    )
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_fork_bomb_in_a_dockerfile_fails_only_that_build(builder, tmp_path):
    app = dockerfile_app(tmp_path / "dbomb", "python3 /src/bomb.py", {"bomb.py": FORK_BOMB})
    with pytest.raises(BuildFailed) as failed:
        builder.build("dbomb", source_dir=app, limits=SMALL)
    assert "hit its process limit" in failed.value.message
    log = "\n".join(failed.value.log_lines)
    refused = re.search(r"fork refused after (\d+) processes", log)
    assert refused and int(refused.group(1)) < SMALL.pids, log


def test_large_allocation_in_a_dockerfile_fails_only_that_build(builder, tmp_path):
    app = dockerfile_app(tmp_path / "dalloc", f'python3 -c "{ALLOCATE_10GB}"', {})
    with pytest.raises(BuildFailed) as failed:
        builder.build("dalloc", source_dir=app, limits=SMALL)
    assert "out of memory" in failed.value.message
    assert not any(line.strip().startswith("allocated") for line in failed.value.log_lines)


def test_dockerfile_build_cannot_reach_the_host_or_metadata(
    builder, docker_client, host_listener, tmp_path
):
    gateway = f"{build_gateway(docker_client)}:{host_listener}"
    host = f"{host_address()}:{host_listener}"
    targets = [gateway, host, "169.254.169.254:80"]
    app = dockerfile_app(
        tmp_path / "dprobe", f"python3 /src/probe.py {' '.join(targets)}", {"probe.py": PROBE}
    )
    _, lines = builder.build("dprobe", source_dir=app, limits=SMALL)
    for target in targets:
        assert outcome([line.strip() for line in lines], target) == "BLOCKED"
