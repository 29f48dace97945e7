"""pier ps:sleep:enable / ps:sleep:disable against the real API, and where the state shows."""

import time

from api.desired import desired_state
from api.models import App
from runtime.sleep import SLEEPING_KEY


def test_sleep_enabled_shown_and_disabled(pier, deployed, redis_client):
    assert pier("apps:create", "napper").exit_code == 0
    deployed("napper")
    enabled = pier("ps:sleep:enable", "--after", "30m", "-a", "napper")
    assert enabled.exit_code == 0, enabled.output
    assert "web processes stop after 30m without requests" in enabled.output
    assert App.objects.get(name="napper").sleep_after == 1800
    [desired] = desired_state()
    assert desired.sleep_after == 1800  # what the runtime reads
    info = pier("apps:info", "-a", "napper").output
    assert "after 30m without requests (awake)" in info.split("Sleep:")[1].splitlines()[0]

    # The runtime put it to sleep (it writes this hash): ps says so rather than "no processes".
    app_id = str(App.objects.get(name="napper").id)
    redis_client.hset(SLEEPING_KEY, app_id, f"1 {time.time():.0f}")
    listed = pier("ps", "-a", "napper")
    assert listed.exit_code == 0, listed.output
    assert "Sleep: asleep since" in listed.output and "the next request wakes it" in listed.output
    assert "runs no processes" not in listed.output
    info = pier("apps:info", "--json", "-a", "napper")
    assert '"sleeping": true' in info.output

    disabled = pier("ps:sleep:disable", "-a", "napper")
    assert disabled.exit_code == 0 and "keep running" in disabled.output
    assert App.objects.get(name="napper").sleep_after is None
    assert "Sleep:" not in pier("ps", "-a", "napper").output
    redis_client.delete(SLEEPING_KEY)


def test_bad_sleep_requests_say_what_to_do(pier, deployed, redis_client):
    assert pier("apps:create", "nap-bad").exit_code == 0
    no_release = pier("ps:sleep:enable", "--after", "30m", "-a", "nap-bad")
    assert no_release.exit_code != 0
    assert "has no web process type" in no_release.output
    deployed("nap-bad", {"worker": "python worker.py"})
    only_worker = pier("ps:sleep:enable", "--after", "30m", "-a", "nap-bad")
    assert only_worker.exit_code != 0
    assert "only web processes sleep; deploy a Procfile with a `web:` line" in only_worker.output
    deployed("nap-bad", {"web": "gunicorn app:app"}, sha="2b3c4d5e6f7a")
    for after in ("30", "soon", "10s", "31d", "-5m", "1.5h"):
        bad = pier("ps:sleep:enable", "--after", after, "-a", "nap-bad")
        assert bad.exit_code != 0, after
        assert "after must be a duration like 30m, 1h or 90s, between 1m and 30d" in bad.output
    assert App.objects.get(name="nap-bad").sleep_after is None
    missing = pier("ps:sleep:enable", "-a", "nap-bad")
    assert missing.exit_code != 0 and "--after" in missing.output
