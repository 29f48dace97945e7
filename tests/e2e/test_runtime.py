"""The runtime and router end to end: real pushes, real containers, the real router."""

import json
import time

import docker
import pytest

from tests.e2e.helpers import (
    APP_SERVER,
    Load,
    containers_by_dyno,
    pier,
    scale,
    up_dynos,
    wait_for,
)

pytestmark = pytest.mark.docker


def test_deploy_serves_through_router_and_scales(platform, pushed):
    app, result = pushed()
    assert result.returncode == 0, result.stderr
    assert platform.get(app).text.startswith("v-one none web.1")
    assert platform.get("x", host="no-such-app.localhost").status_code == 404

    scale(platform, app, web=3, worker=1)
    wait_for(
        lambda: up_dynos(platform, app) == ["web.1", "web.2", "web.3", "worker.1"],
        what="web=3 worker=1",
    )
    # "up" in ps can come a moment before the router sends them traffic.
    wait_for(
        lambda: {platform.get(app).text.split()[-1] for _ in range(12)} == {
            "web.1", "web.2", "web.3"},
        what="requests reach all three web processes",
    )

    scale(platform, app, web=0, worker=0)
    wait_for(lambda: platform.get(app).status_code == 503, what="503 with no web processes")
    scale(platform, app, web=1)
    wait_for(lambda: platform.get(app).status_code == 200, what="web back")


def test_config_change_restarts_with_new_env_and_logs_events(platform, pushed):
    app, _ = pushed()
    assert platform.api.patch(f"/apps/{app}/config-vars", json={"COLOR": "blue"}).status_code == 200
    wait_for(lambda: " blue " in platform.get(app).text, what="new config live")
    assert platform.api.get(f"/apps/{app}/releases").json()[0]["status"] == "succeeded"
    logs = platform.api.get(f"/apps/{app}/log-stream", params={"lines": 200}).text
    assert "pier[api]: Release v3 created by" in logs
    assert "blue" not in logs  # config values never reach the logs


def test_killed_process_restarts_while_others_serve(platform, pushed):
    app, _ = pushed()
    scale(platform, app, web=2)
    wait_for(lambda: up_dynos(platform, app) == ["web.1", "web.2"], what="two web")
    client = docker.from_env()
    victim = client.containers.list(filters={"label": ["pier.app=" + app, "pier.index=1"]})[0]
    victim.kill()
    # The other process keeps answering while web.1 is down: the router retries a refused
    # connection on web.2 and takes web.1 out, before the runtime even notices.
    replies = [platform.get(app) for _ in range(10)]
    assert [r.status_code for r in replies] == [200] * 10, [r.text[:80] for r in replies]

    def web1_restarted() -> bool:
        # Right after the kill the listing may still be the pass before it (web.1 up, never
        # restarted): wait for the pass that restarted it, not merely for two up.
        dynos = platform.api.get(f"/apps/{app}/dynos").json()
        web1 = next(d for d in dynos if d["name"] == "web.1")
        return up_dynos(platform, app) == ["web.1", "web.2"] and web1["restarts"] >= 1

    wait_for(web1_restarted, what="web.1 restarted, its restart counted")
    logs = platform.api.get(f"/apps/{app}/log-stream", params={"source": "pier"}).text
    assert "Process exited" in logs or "crashed" in logs


def test_deploy_under_load_has_no_failed_requests(platform, pushed):
    app, _ = pushed("v-one")
    with Load(platform, app) as load:  # switching processes is no router reload
        _, result = pushed("v-two", app=app)
        wait_for(lambda: platform.get(app).text.startswith("v-two"), what="v-two serving")
        time.sleep(2)
    assert result.returncode == 0, result.stderr
    assert len(load.codes) > 20
    assert load.failures == []


def test_restart_rolls_without_failed_requests_and_one_process_alone(platform, pushed):
    app, _ = pushed()
    scale(platform, app, web=2)
    wait_for(lambda: up_dynos(platform, app) == ["web.1", "web.2"], what="two web")
    before = dict(containers_by_dyno(app))
    response = platform.api.post(f"/apps/{app}/dynos/restart", json={"target": "web.2"})
    assert response.status_code == 202, response.text
    wait_for(lambda: len(containers_by_dyno(app)) == 2
             and before["web.2"] not in dict(containers_by_dyno(app)).values(),
             what="web.2 replaced")
    assert dict(containers_by_dyno(app))["web.1"] == before["web.1"]

    with Load(platform, app) as load:
        before = {cid for _, cid in containers_by_dyno(app)}
        response = platform.api.post(f"/apps/{app}/dynos/restart", json={"target": "web"})
        assert response.status_code == 202, response.text
        wait_for(lambda: len(containers_by_dyno(app)) == 2
                 and not {cid for _, cid in containers_by_dyno(app)} & before,
                 what="both web processes replaced")
    assert len(load.codes) > 20
    assert load.failures == []


def test_release_that_never_binds_port_fails_and_old_keeps_serving(platform, pushed):
    app, _ = pushed("v-good")
    # A 10 s startup check instead of the default 60 s: the same verdict, sooner.
    startup = {"healthchecks": {"web": [{"type": "startup", "path": "/", "timeout": 10}]}}
    _, result = pushed("v-bad", app=app, procfile="web: sleep 100000\n", app_json=startup)
    assert result.returncode != 0
    assert "failed" in result.stderr and "previous release keeps serving" in result.stderr
    assert "did not answer GET /" in result.stderr and "within 10s" in result.stderr
    assert platform.get(app).text.startswith("v-good")
    latest = platform.api.get(f"/apps/{app}/releases").json()[0]
    assert latest["status"] == "failed"


def test_pier_run_streams_output_and_exit_code(platform, pushed):
    app, _ = pushed()
    platform.api.patch(f"/apps/{app}/config-vars", json={"COLOR": "green"})
    result = pier(platform, "run", "-a", app, "--", "sh", "-c", 'echo "hi $COLOR $DYNO"; exit 3')
    assert result.returncode == 3, result.stderr
    assert result.stdout.startswith("hi green run.")
    ps = pier(platform, "ps", "-a", app, "--json")
    assert all(not d["name"].startswith("run.") for d in json.loads(ps.stdout))


def test_failing_release_phase_keeps_previous_release(platform, pushed):
    app, _ = pushed("v-first")
    procfile = APP_SERVER.format(text="v-second") + "release: echo migrating; exit 4\n"
    _, result = pushed("v-second", app=app, procfile=procfile)
    assert result.returncode != 0
    assert "migrating" in result.stderr
    assert "Release command exited with status 4" in result.stderr
    assert platform.get(app).text.startswith("v-first")
    assert platform.api.get(f"/apps/{app}/releases").json()[0]["status"] == "failed"


def test_apps_outlive_a_platform_restart_and_are_adopted(platform, pushed):
    app, _ = pushed()
    scale(platform, app, web=2)
    wait_for(lambda: up_dynos(platform, app) == ["web.1", "web.2"], what="two web")
    client = docker.from_env()

    def running() -> set[str]:
        return {c.id for c in client.containers.list(filters={"label": f"pier.app={app}"})}

    before = running()
    platform.stop()  # every platform process: web, worker, runtime, router, redis
    assert running() == before
    platform.start()
    wait_for(lambda: platform.get(app).status_code == 200, what="served again")
    wait_for(lambda: up_dynos(platform, app) == ["web.1", "web.2"], what="statuses back")
    time.sleep(6)  # at least one more full pass of the runtime
    assert running() == before  # adopted: nothing restarted, nothing started twice
