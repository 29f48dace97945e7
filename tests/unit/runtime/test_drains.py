"""Drains: URL validation, RFC 5424 framing, and delivery with backoff and drop counting."""

from __future__ import annotations

import uuid

import pytest

from runtime import applog
from runtime.applog import LogLine
from runtime.drains import (
    POSITIONS_KEY,
    DeliveryError,
    Drain,
    DrainManager,
    Rejected,
    logplex_body,
    octet_frame,
    redact,
    syslog_message,
    validate_drain_url,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("syslog+tls://Logs.Example.com:6514", "syslog+tls://logs.example.com:6514"),
        ("syslog://10.0.0.2:514", "syslog://10.0.0.2:514"),
        ("syslog://[::1]:514/", "syslog://[::1]:514/"),
        (
            " https://user:s3cret@logs.example.com/ingest?t=1 ",
            "https://user:s3cret@logs.example.com/ingest?t=1",
        ),
        ("HTTP://collector:8080/", "http://collector:8080/"),
    ],
)
def test_good_drain_urls_are_normalised(url, expected):
    assert validate_drain_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "required"),
        ("logs.example.com:514", "scheme"),
        ("ftp://logs.example.com", "unsupported drain URL scheme 'ftp'"),
        ("syslog://logs.example.com", "needs a port"),
        ("syslog+tls://u:p@logs.example.com:6514", "only syslog+tls://host:port"),
        ("syslog://logs.example.com:514/path", "only syslog://host:port"),
        ("https://", "has no host"),
        ("https://under_score.example.com/", "invalid host name"),
        ("https://-bad.example.com/", "invalid host name"),
        ("syslog://logs.example.com:70000", "invalid port"),
        ("syslog://logs.example.com:0", "invalid port"),
        ("https://logs.example.com/a b", "spaces"),
    ],
)
def test_bad_drain_urls_say_why(url, message):
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        validate_drain_url(url)


def test_redact_hides_passwords():
    assert redact("https://u:pw@h.example/x") == "https://u:***@h.example/x"
    assert redact("syslog://h:1") == "syslog://h:1"


LINE = LogLine(
    id="1-0",
    timestamp="2026-11-28T01:02:03.123456+00:00",
    source="app",
    dyno="web.1",
    message="héllo wörld",
)


def test_syslog_message_is_rfc5424():
    assert syslog_message("myapp", LINE) == (
        "<190>1 2026-11-28T01:02:03.123456+00:00 myapp app web.1 - - héllo wörld".encode()
    )
    odd = LogLine(id="1-0", timestamp="", source="app", dyno="", message="")
    assert syslog_message("my app", odd) == b"<190>1 - my_app app - - - "


def test_octet_counting_counts_bytes_not_characters():
    message = syslog_message("myapp", LINE)
    assert octet_frame(message) == b"%d " % len(message) + message
    assert octet_frame("é".encode()) == b"2 \xc3\xa9"


def test_logplex_body_matches_herokus_framing():
    # Heroku's documented example: the newline is part of the counted message.
    message = b"<40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up"
    assert logplex_body([message, b"x"]) == b"83 " + message + b"\n2 x\n"


# -- delivery ---------------------------------------------------------------------------


class FakeSender:
    def __init__(self):
        self.fail: Exception | None = None
        self.batches: list[list[str]] = []
        self.attempts = 0

    def send(self, app, lines):
        self.attempts += 1
        if self.fail:
            raise self.fail
        self.batches.append([line.message for _, line in lines])

    def close(self):
        pass


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def app(redis_client):
    name = f"d{uuid.uuid4().hex[:8]}"
    yield name
    redis_client.delete(applog.stream_key(name))
    for field in redis_client.hkeys(POSITIONS_KEY):
        if field.startswith(f"{name}:"):
            redis_client.hdel(POSITIONS_KEY, field)


def write(client, app, *messages):
    for message in messages:
        applog.append(client, app, source="app", dyno="web.1", message=message)


def make_drain(client, app, sender, clock, **kw):
    return Drain(
        client, app, "syslog://logs.example.com:514", sender=sender, clock=clock, block=0.01, **kw
    )


def test_a_new_drain_starts_at_the_end_and_delivers_in_order(redis_client, app):
    write(redis_client, app, "old")
    sender, clock = FakeSender(), Clock()
    drain = make_drain(redis_client, app, sender, clock, batch=2)
    drain.step()
    write(redis_client, app, "one", "two", "three")
    drain.step()
    drain.step()
    assert sender.batches == [["one", "two"], ["three"]]
    last = redis_client.xrevrange(applog.stream_key(app), count=1)[0][0]
    assert redis_client.hget(POSITIONS_KEY, drain.field) == last
    # A restarted drain continues from the stored position.
    write(redis_client, app, "four")
    again = make_drain(redis_client, app, sender, clock)
    again.step()
    assert sender.batches[-1] == ["four"]


def test_a_failing_drain_backs_off_exponentially_and_then_catches_up(redis_client, app):
    sender, clock = FakeSender(), Clock()
    drain = make_drain(redis_client, app, sender, clock, backoff=1.0, max_backoff=4.0)
    drain.step()
    write(redis_client, app, "a", "b")
    sender.fail = DeliveryError("connection refused")
    delays = []
    for _ in range(4):
        drain.step()
        delays.append(drain._retry_at - clock.now)
        clock.now = drain._retry_at
    assert delays == [1.0, 2.0, 4.0, 4.0]
    drain.step()
    clock.now = drain._retry_at - 0.5
    drain.step()  # not yet due: no attempt
    assert sender.attempts == 5
    sender.fail = None
    clock.now += 0.5
    drain.step()
    assert sender.batches == [["a", "b"]]
    assert drain._retry_at == 0.0


def test_drops_beyond_the_buffer_are_counted_and_reported(redis_client, app):
    sender, clock = FakeSender(), Clock()
    drain = make_drain(redis_client, app, sender, clock, limit=3, batch=10)
    drain.step()
    sender.fail = DeliveryError("down")
    write(redis_client, app, *[f"m{i}" for i in range(5)])
    drain.step()
    assert drain.dropped_total == 2 and [line.message for _, line in drain.buffer] == [
        "m2",
        "m3",
        "m4",
    ]
    sender.fail = None
    clock.now += 60
    drain.step()
    assert sender.batches == [["m2", "m3", "m4"]]
    report = redis_client.xrevrange(applog.stream_key(app), count=1)[0][1]
    assert report["source"] == "pier" and report["dyno"] == "logs"
    assert report["line"].startswith("2 lines dropped for drain syslog://logs.example.com:514")
    drain.step()
    assert sender.batches[-1][0].startswith("2 lines dropped")  # drains see it too


def test_a_rejected_batch_is_dropped_not_retried(redis_client, app):
    sender, clock = FakeSender(), Clock()
    drain = make_drain(redis_client, app, sender, clock)
    drain.step()
    write(redis_client, app, "bad")
    sender.fail = Rejected("400")
    drain.step()
    assert not drain.buffer and drain.dropped_total == 1
    sender.fail = None
    drain.step()
    assert sender.batches == [
        ["1 lines dropped for drain syslog://logs.example.com:514: it was unreachable or too slow"]
    ]


def test_manager_follows_the_source_and_skips_bad_urls(redis_client, app):
    drains = {app: ["syslog://a.example:514", "ftp://nope"]}
    manager = DrainManager(redis_client, lambda: drains, sender=None, block=0.01)
    try:
        manager.sync()
        assert set(manager.drains) == {(app, "syslog://a.example:514")}
        drains[app] = ["https://b.example/x"]
        manager.sync()
        assert set(manager.drains) == {(app, "https://b.example/x")}
    finally:
        manager.stop()


def test_lines_trimmed_while_nothing_delivered_are_reported(redis_client, app):
    sender, clock = FakeSender(), Clock()
    write(redis_client, app, "seen")
    drain = make_drain(redis_client, app, sender, clock)
    drain.step()  # its position: "seen"
    # The runtime is down; the app logs more than the stream keeps.
    for i in range(30):
        redis_client.xadd(applog.stream_key(app),
                          {"ts": "t", "source": "app", "dyno": "web.1", "line": f"n{i}"},
                          maxlen=10, approximate=False)
    again = make_drain(redis_client, app, sender, clock)
    again.step()
    assert sender.batches[-1][0] == "n20"  # delivery resumes with what is left
    lines = [applog.LogLine.from_entry(*e) for e in redis_client.xrange(applog.stream_key(app))]
    assert any(line.dyno == "logs" and "Lines were lost for drain" in line.message
               for line in lines)
