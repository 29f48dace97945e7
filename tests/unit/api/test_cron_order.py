"""The order a tick queues due runs in: each app in turn, so one app's many jobs wait last."""

from types import SimpleNamespace

from api.services.cron import _app_by_app


def test_due_runs_are_queued_taking_each_app_in_turn():
    jobs = [SimpleNamespace(app_id=app, n=n) for app, n in
            [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("c", 1), ("c", 2)]]
    order = [(job.app_id, job.n) for job in _app_by_app(jobs)]
    assert order == [("a", 1), ("b", 1), ("c", 1), ("a", 2), ("c", 2), ("a", 3)]


def test_no_due_runs_queue_nothing():
    assert _app_by_app([]) == []
