"""Platform faults end to end: the runtime killed mid-deploy, the router killed, Docker
frozen for a while. Apps keep answering, and the platform finishes what it was doing."""

import os
import signal
import threading
import time

import httpx
import pytest

from tests.e2e.helpers import Load, engine_pid, process_containers, scale, up_dynos, wait_for

pytestmark = pytest.mark.docker


def releases_running(app: str) -> set[str]:
    return {c.labels["pier.release"] for c in process_containers(app)}


def test_runtime_killed_during_a_deploy_finishes_it(platform, pushed):
    app, _ = pushed("v-one")
    [runtime] = platform.pids("manage.py runtime")
    outcome = {}
    with Load(platform, app) as load:
        pusher = threading.Thread(
            target=lambda: outcome.update(result=pushed("v-two", app=app)[1]))
        pusher.start()
        # The new release's first process is starting: the runtime is mid-rollout.
        seen = wait_for(lambda: len(releases_running(app)) == 2 or (
            "push ended" if not pusher.is_alive() else False), timeout=300, what="rollout")
        # A push that ended first (its build failed, say) says why, instead of a timeout.
        assert seen is True, f"the push ended before its rollout: {outcome.get('result')}"
        os.kill(runtime, signal.SIGKILL)
        pusher.join(600)
        wait_for(lambda: httpx.get(load.url, headers={"Host": load.host}).text
                 .startswith("v-two"), what="v-two serving")
    result = outcome["result"]
    assert result.returncode == 0, result.stderr
    # Respawned: its wrapper waits a second before starting it again.
    wait_for(lambda: platform.pids("manage.py runtime") not in ([], [runtime]),
             what="the runtime respawned")
    wait_for(lambda: len(releases_running(app)) == 1, what="only v-two left")
    assert len(load.codes) > 20
    assert load.failures == []  # never zero web processes while one was healthy


def test_router_killed_comes_back_with_its_routes(platform, pushed):
    app, _ = pushed("v-one")
    [haproxy] = platform.pids("haproxy", "-W")  # the master, not its workers
    url, host = f"http://127.0.0.1:{platform.router_port}/", {"Host": f"{app}.localhost"}
    with Load(platform, app) as load:
        time.sleep(1)
        os.kill(haproxy, signal.SIGKILL)
        time.sleep(2)
    # The router process kept the listening socket and started HAProxy again at once, from
    # its config and server-state files: no connection refused. Only the request the dead
    # worker held, if the kill came mid-request, is lost with it.
    assert not [f for f in load.failures if "ConnectError" in f]
    assert len(load.failures) <= 1 and len(load.codes) > 20
    assert httpx.get(url, headers=host).status_code == 200
    assert platform.pids("haproxy", "-W") != [haproxy]
    # And the runtime still drives the new router.
    scale(platform, app, web=2)
    wait_for(lambda: {httpx.get(url, headers=host).text.split()[-1] for _ in range(8)}
             == {"web.1", "web.2"}, what="both web processes through the new router")


def test_docker_frozen_for_a_while_loses_nothing(platform, pushed):
    app, _ = pushed("v-one")
    dockerd = engine_pid()
    with Load(platform, app) as load:
        os.kill(dockerd, signal.SIGSTOP)
        try:
            scale(platform, app, web=2)  # the API does not need Docker
            time.sleep(8)  # the runtime's calls to Docker hang meanwhile
        finally:
            os.kill(dockerd, signal.SIGCONT)
        wait_for(lambda: up_dynos(platform, app) == ["web.1", "web.2"], timeout=120,
                 what="the scale done once Docker answers again")
    assert len(load.codes) > 20
    assert load.failures == []  # the app kept answering through the router all along
