"""Sleep and wake through the whole platform: API, CLI, `manage.py runtime`, HAProxy."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import pier, up_dynos, wait_for

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]


def test_idle_app_sleeps_keeps_its_worker_and_wakes_on_a_request(platform, pushed):
    app, result = pushed()
    assert result.returncode == 0, result.stderr
    wait_for(lambda: up_dynos(platform, app) == ["web.1"], what="web.1 up")
    platform.api.patch(f"/apps/{app}/formation",
                       json={"updates": [{"type": "worker", "quantity": 1}]})
    wait_for(lambda: up_dynos(platform, app) == ["web.1", "worker.1"], what="worker.1 up")
    enabled = pier(platform, "ps:sleep:enable", "--after", "1m", "-a", app)
    assert enabled.returncode == 0, enabled.stderr
    # A minute is the shortest users may ask for; the test shortens it where the runtime
    # reads it, in the platform's own database.
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         f"from api.models import App; App.objects.filter(name={app!r}).update(sleep_after=3)"],
        cwd=ROOT, env=platform.env, check=True, capture_output=True)
    wait_for(lambda: up_dynos(platform, app) == ["worker.1"], what="web asleep, worker on")
    assert "asleep since" in pier(platform, "ps", "-a", app).stdout

    response = platform.get(app)
    assert response.status_code == 200 and response.text.startswith("v-one none web.1")
    assert up_dynos(platform, app) in (["worker.1"], ["web.1", "worker.1"])  # ps lags a pass
    logs = platform.api.get(f"/apps/{app}/log-stream", params={"lines": 300}).text
    assert "Sleeping: no requests for 3s" in logs
    assert "Waking: a request arrived while asleep" in logs
    assert "crashed" not in logs
