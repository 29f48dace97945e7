"""`pier metrics` and `pier ps:autoscale:*` against the real API (live_server, real Redis)."""

import json
import time

from api.models import App
from runtime.metrics import MetricsStore
from runtime.metrics import buckets as b


def _ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}"
    return result.output


def test_metrics_table_and_json(pier, deployed, redis_client):
    _ok(pier("apps:create", "gauged-cli"))
    deployed("gauged-cli")
    bucket = b.new(int(time.time() - 30) // 10 * 10)
    for ms in [40] * 19 + [900]:
        b.add_request(bucket, 200, ms)
    b.add_process(bucket, "web.1", cpu=1.0, seconds=10, memory=64 * 2**20, limit=512 * 2**20)
    MetricsStore(redis_client).add([(str(App.objects.get(name="gauged-cli").id), bucket)])

    shown = _ok(pier("metrics", "-a", "gauged-cli"))
    assert "requests   20 " in shown and "2xx 20" in shown
    assert "p50 " in shown and "web.1" in shown and "64.0 MB" in shown and "12.5%" in shown
    assert "P95" in shown  # the points table's header
    data = json.loads(_ok(pier("metrics", "-a", "gauged-cli", "--since", "24h", "--json")))
    assert data["summary"]["requests"] == 20 and data["step"] >= 60

    bad = pier("metrics", "-a", "gauged-cli", "--since", "forever")
    assert bad.exit_code != 0 and "since must be a duration" in bad.output


def test_autoscale_enable_and_disable(pier, deployed, redis_client):
    _ok(pier("apps:create", "scaled-cli"))
    deployed("scaled-cli")
    shown = _ok(pier("ps:autoscale:enable", "web", "--min", "2", "--max", "8", "--p95", "500",
                     "-a", "scaled-cli"))
    assert "Autoscaling web of scaled-cli: 2..8 processes" in shown and "(now 2)" in shown
    bad = pier("ps:autoscale:enable", "web", "--min", "3", "--max", "2", "--p95", "500",
               "-a", "scaled-cli")
    assert bad.exit_code != 0 and "--min 3 is above --max 2" in bad.output
    assert "disabled" in _ok(pier("ps:autoscale:disable", "web", "-a", "scaled-cli"))
