"""The autoscaler's decision from 10 s buckets: up fast, down slow, within bounds."""

from api.models import Formation
from api.services.autoscale import autoscale_decide
from runtime.metrics import buckets

NOW = 10_000.0


def _series(p95_ms: float, seconds: int, requests: int = 20) -> list[dict]:
    series = []
    for start in range(int(NOW) - seconds, int(NOW), 10):
        bucket = buckets.new(start)
        for _ in range(requests):
            buckets.add_request(bucket, 200, p95_ms)
        series.append(bucket)
    return series


def _decide(series, quantity=2, since=NOW - 1000, up=60, down=300):
    row = Formation(type="web", quantity=quantity, autoscale_min=1, autoscale_max=3,
                    autoscale_p95_ms=500)
    return autoscale_decide(series=series, quantity=quantity, row=row, now=NOW, since=since,
                            up_window=up, down_window=down)


def test_slow_responses_for_the_up_window_add_a_process():
    quantity, why = _decide(_series(900, 60))
    assert quantity == 3 and "above the 500 ms target" in why


def test_never_past_max_nor_under_min():
    assert _decide(_series(900, 60), quantity=3)[0] == 3
    assert _decide([], quantity=1)[0] == 1


def test_fast_responses_remove_a_process_only_after_the_down_window():
    assert _decide(_series(100, 300))[0] == 1
    assert _decide(_series(100, 300), since=NOW - 200)[0] == 2  # changed 200 s ago: wait
    assert _decide(_series(300, 300))[0] == 2  # under target but not under half of it


def test_no_requests_at_all_scales_down():
    quantity, why = _decide([])
    assert quantity == 1 and "no requests" in why


def test_time_before_the_last_change_is_not_counted():
    assert _decide(_series(900, 60), since=NOW - 30)[0] == 2
