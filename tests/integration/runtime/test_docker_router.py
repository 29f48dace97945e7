"""Apps as real containers behind the real router, driven by the reconciler."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
from rt_helpers import converge, make_app

from runtime.backends.base import APP_PORT

pytestmark = pytest.mark.docker


def get(port: int, host: str, path: str = "/") -> httpx.Response:
    """One request on a fresh connection, as a new visitor would make it."""
    with httpx.Client(timeout=10) as client:
        return client.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host})


def web(backend, app):
    return [p for p in backend.list_processes(app) if p.type == "web"]


def test_deploy_serves_the_app_through_the_router(reconciler, backend, live_router):
    _, port, access_log = live_router
    converge(reconciler, [make_app("rt-hello")])
    response = get(port, "rt-hello.localhost")
    assert response.status_code == 200
    assert response.text == "release 1\n"
    [process] = web(backend, "rt-hello")
    assert process.state == "up" and process.address.endswith(f":{APP_PORT}")
    time.sleep(0.5)  # the access log is written after the response
    # Requests are JSON lines; the router may add a plain notice (a reload), which the
    # shipper skips too.
    entries = [json.loads(line) for line in open(access_log) if line.startswith("{")]
    assert any(e.get("pier_app") == "rt-hello" and e.get("request_id") for e in entries)


def test_unknown_host_gets_404_page(router, live_router):
    _, port, _ = live_router
    router.apply([])
    response = get(port, "nope.localhost")
    assert response.status_code == 404
    assert "No such app" in response.text


def test_containers_are_confined(reconciler, backend, docker_client):
    converge(reconciler, [make_app("rt-confined")])
    [process] = web(backend, "rt-confined")
    attrs = docker_client.api.inspect_container(process.container_id)
    host = attrs["HostConfig"]
    assert attrs["Config"]["User"] == "1000:1000"
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["PidsLimit"] == 64
    assert host["RestartPolicy"]["Name"] == "no"
    assert not host["PortBindings"] and not attrs["NetworkSettings"]["Ports"].get("5000/tcp")
    assert list(attrs["NetworkSettings"]["Networks"]) == ["pier-apps"]
    env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
    assert env["PORT"] == "5000" and env["DYNO"] == "web.1" and env["RELEASE"] == "1"
    labels = attrs["Config"]["Labels"]
    assert labels["pier.app"] == "rt-confined" and labels["pier.process"] == "web"
    assert labels["pier.release"] == "1" and labels["pier.index"] == "1"


def test_apps_cannot_reach_services_on_the_host(backend, docker_client, test_image):
    backend.ensure_network()
    network = docker_client.networks.get("pier-apps")
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    with socket.socket() as listener:  # a platform service listening on every address
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        port = listener.getsockname()[1]
        probe = f"nc -w 2 {gateway} {port} </dev/null && echo reached || echo blocked"
        output = docker_client.containers.run(
            test_image,
            ["sh", "-c", probe],
            network="pier-apps",
            remove=True,
            labels={"pier.test": backend.labels["pier.test"]},
        )
    assert output.strip() == b"blocked"


def test_scale_up_down_and_back(reconciler, backend, live_router):
    _, port, _ = live_router
    for quantity in (1, 3, 0, 1):
        converge(reconciler, [make_app("rt-scale", web=quantity)])
        processes = web(backend, "rt-scale")
        assert sorted(p.index for p in processes) == list(range(1, quantity + 1))
        response = get(port, "rt-scale.localhost")
        if quantity:
            assert response.status_code == 200
        else:
            assert response.status_code == 503
            assert "No web processes running" in response.text


def test_killed_process_is_restarted_and_others_keep_serving(
    reconciler, backend, live_router, docker_client, events
):
    _, port, _ = live_router
    desired = [make_app("rt-crash", web=2)]
    converge(reconciler, desired)
    victim = next(p for p in web(backend, "rt-crash") if p.index == 1)
    docker_client.api.kill(victim.container_id)
    statuses = [get(port, "rt-crash.localhost").status_code for _ in range(5)]
    converge(reconciler, desired)
    statuses += [get(port, "rt-crash.localhost").status_code for _ in range(5)]
    assert statuses == [200] * 10
    restarted = next(p for p in web(backend, "rt-crash") if p.index == 1)
    assert restarted.container_id != victim.container_id
    assert restarted.restarts == 1 and restarted.state == "up"
    assert any(e.kind == "crashed" and "exited with status 137" in e.message for e in events)


def test_a_command_that_does_not_exist_crash_loops_with_backoff(
    reconciler, backend, live_router, events
):
    from dataclasses import replace

    from runtime.desired import ProcessSpec

    _, port, _ = live_router
    app = make_app("rt-loop")
    app = replace(app, formation=(*app.formation, ProcessSpec("worker", 1, "no-such-command")))
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:  # passes as the runtime's loop makes them
        reconciler.reconcile([app])
        time.sleep(0.2)
    [worker] = [p for p in backend.list_processes("rt-loop") if p.type == "worker"]
    crashes = [e for e in events if e.kind == "crashed" and e.process == "worker.1"]
    assert crashes and "exited with status 127" in crashes[0].message
    # Restarted after 1, 2, 4 s...: a handful of times in 8 s, not hundreds.
    assert 1 <= worker.restarts <= 4
    assert get(port, "rt-loop.localhost").status_code == 200  # web is not affected


def test_out_of_memory_is_reported(reconciler, backend, events):
    hog = "x=xxxxxxxxxxxxxxxx; while true; do x=$x$x; done"
    app = make_app("rt-oom", command=hog, boot_timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reconciler.reconcile([app])
        if any(e.kind == "crashed" and "out of memory" in e.message for e in events):
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"no OOM event in {events}")


def test_new_release_without_failed_requests(reconciler, backend, live_router):
    _, port, _ = live_router
    converge(reconciler, [make_app("rt-deploy", release=1, web=2)])
    failures, seen, done = [], set(), threading.Event()

    def hammer():
        for _ in range(3000):  # bounded; loopback only
            if done.is_set():
                return
            try:
                response = get(port, "rt-deploy.localhost")
                seen.add(response.text)
                if response.status_code != 200:
                    failures.append(response.status_code)
            except httpx.HTTPError as e:
                failures.append(repr(e))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        results = converge(reconciler, [make_app("rt-deploy", release=2, web=2)])
        time.sleep(3)  # old processes are stopped in the background; keep hammering
        converge(reconciler, [make_app("rt-deploy", release=2, web=2)])
    finally:
        done.set()
        thread.join()
    assert ("rt-deploy", 2) in [s for r in results for s in r.succeeded]
    assert failures == []
    assert seen >= {"release 1\n", "release 2\n"}
    assert {p.release for p in backend.list_processes("rt-deploy")} == {2}
    assert get(port, "rt-deploy.localhost").text == "release 2\n"


def test_release_that_never_binds_port_fails_and_old_keeps_serving(
    reconciler, backend, live_router, events
):
    _, port, _ = live_router
    converge(reconciler, [make_app("rt-broken", release=1)])
    broken = make_app("rt-broken", release=2, command="sleep 3600", boot_timeout=3)
    results = converge(reconciler, [broken])
    assert ("rt-broken", 2) in [f for r in results for f in r.failed]
    assert any(e.kind == "release_failed" for e in events)
    assert get(port, "rt-broken.localhost").text == "release 1\n"
    converge(reconciler, [broken])  # no retry while the desired state still says v2
    assert {p.release for p in backend.list_processes("rt-broken")} == {1}


def test_adopts_running_containers_after_a_runtime_restart(
    reconciler, backend, router, live_router
):
    from runtime.reconciler import Reconciler

    _, port, _ = live_router
    desired = [make_app("rt-adopt", web=2)]
    converge(reconciler, desired)
    before = {p.container_id for p in backend.list_processes("rt-adopt")}
    fresh = Reconciler(backend, router)
    result = fresh.reconcile(desired)
    assert not result.pending and not result.events
    assert {p.container_id for p in backend.list_processes("rt-adopt")} == before
    assert get(port, "rt-adopt.localhost").status_code == 200


def test_maintenance_page(reconciler, live_router):
    _, port, _ = live_router
    converge(reconciler, [make_app("rt-maint", maintenance=True)])
    response = get(port, "rt-maint.localhost")
    assert response.status_code == 503
    assert "maintenance" in response.text


def test_request_id_is_passed_to_the_app(reconciler, backend, live_router, docker_client):
    _, port, _ = live_router
    # busybox httpd runs CGI scripts: one that echoes the request headers it got.
    script = (
        "mkdir -p /tmp/www/cgi-bin && printf '#!/bin/sh\\necho \"Content-Type: "
        "text/plain\"\\necho\\nenv\\n' > /tmp/www/cgi-bin/env && "
        "chmod +x /tmp/www/cgi-bin/env && exec httpd -f -p $PORT -h /tmp/www"
    )
    converge(reconciler, [make_app("rt-headers", command=script)])
    text = get(port, "rt-headers.localhost", "/cgi-bin/env").text
    assert "HTTP_X_REQUEST_ID=" in text
    assert "HTTP_X_FORWARDED_FOR=127.0.0.1" in text
    with httpx.Client() as client:
        mine = client.get(
            f"http://127.0.0.1:{port}/cgi-bin/env",
            headers={"Host": "rt-headers.localhost", "X-Request-Id": "abc-123"},
        )
    assert "HTTP_X_REQUEST_ID=abc-123" in mine.text


def test_oneoff_streams_output_and_returns_status(backend):
    chunks = []
    status = backend.run_oneoff(
        make_app("rt-oneoff"), "echo hi from $DYNO; exit 3", output=chunks.append
    )
    assert status == 3
    assert b"".join(chunks).startswith(b"hi from run.")
    assert backend.list_processes("rt-oneoff") == []


def test_http_health_check_gates_the_release(reconciler, backend, live_router, events):
    from dataclasses import replace

    from runtime.desired import HealthCheck

    _, port, _ = live_router
    converge(reconciler, [make_app("rt-check", release=1)])
    # v2 listens on PORT but has no /health: with the check it never becomes healthy.
    missing = replace(make_app("rt-check", release=2),
                      healthcheck=HealthCheck(boot_timeout=3, path="/health"))
    results = converge(reconciler, [missing])
    assert ("rt-check", 2) in [f for r in results for f in r.failed]
    assert any("did not answer GET /health within 3s" in e.message for e in events)
    assert get(port, "rt-check.localhost").text == "release 1\n"
    # v3's page has the expected content: it goes live.
    passing = replace(make_app("rt-check", release=3),
                      healthcheck=HealthCheck(boot_timeout=20, path="/", content="release 3"))
    converge(reconciler, [passing])
    assert get(port, "rt-check.localhost").text == "release 3\n"

