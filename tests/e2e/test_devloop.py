"""Webhooks and scheduled jobs on the whole platform (`manage.py up`): a real push, the
Procfile's own `worker` (beat) and `oneoff` processes, a real receiver."""

import hashlib
import hmac
import json
import uuid

import docker
import pytest

from tests.helpers import git, wait_for
from tests.integration.devloop.conftest import Receiver

pytestmark = pytest.mark.docker
PROCFILE = "web: exec python3 -m http.server $PORT\n"
SECRET = "e2e-webhook-secret"


def _push(platform, repo, app: str, files: dict[str, str]):
    for name, text in files.items():
        (repo / name).write_text(text)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "change", cwd=repo)
    return git("push", platform.git_url(app), "HEAD:main", cwd=repo, check=False)


def test_push_delivers_webhooks_and_runs_scheduled_jobs(platform, tmp_path):
    receiver = Receiver()
    app = f"dl-{uuid.uuid4().hex[:6]}"
    app_id = platform.create_app(app)["id"]
    added = platform.api.post(f"/apps/{app}/webhooks", json={
        "url": receiver.url, "include": "api:build,api:release", "secret": SECRET})
    assert added.status_code == 201, added.text
    platform.api.patch(f"/apps/{app}/config-vars", json={"GREETING": "hi"})
    repo = tmp_path / app
    repo.mkdir()
    git("init", "-q", "--initial-branch=main", cwd=repo)

    bad = _push(platform, repo, app, {"Procfile": PROCFILE, "app.json": json.dumps(
        {"cron": [{"command": "true", "schedule": "every day"}]})})
    assert bad.returncode != 0 and "has an invalid schedule 'every day'" in bad.stderr

    good = _push(platform, repo, app, {"app.json": json.dumps(
        {"cron": [{"command": "echo cron says $GREETING", "schedule": "@daily"}]})})
    assert good.returncode == 0, good.stderr
    wait_for(lambda: {e for e in receiver.events()} >= {
        ("api:build", "succeeded"), ("api:release", "created"), ("api:build", "failed")},
        what="build and release webhooks")
    for request in receiver.requests:
        expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
        assert request["headers"]["Pier-Signature"] == f"sha256={expected}"

    jobs = platform.api.get(f"/apps/{app}/cron").json()
    assert [(j["schedule"], j["command"]) for j in jobs] == [
        ("@daily", "echo cron says $GREETING")]
    assert platform.api.post(f"/apps/{app}/cron/{jobs[0]['id']}/run").status_code == 202

    def ran():
        text = platform.api.get(f"/apps/{app}/log-stream", params={"lines": 200}).text
        return [line for line in text.splitlines() if "app[scheduler." in line]

    assert "cron says hi" in wait_for(ran, what="the job's output")[0]
    receiver.server.shutdown()
    assert platform.api.delete(f"/apps/{app}").status_code == 204
    wait_for(lambda: not docker.from_env().images.list(name=f"pier/{app_id}"),
             what="the destroyed app's images to be removed")
