"""Log shipping: Docker's stream format, line joining and splitting, router lines, batching."""

from __future__ import annotations

import json
import struct
import uuid

import pytest

from runtime import applog
from runtime.logship import (
    SINCE_KEY,
    AccessLogTail,
    Line,
    LineJoiner,
    StreamWriter,
    dechunk,
    docker_since,
    iter_frames,
    router_line,
)

# Written by a real Caddy 2.11 with the config of runtime/router/caddy.py.
CADDY_OK = (
    '{"level":"info","ts":1795840299.8900685,"logger":"http.log.access.pier","msg":"handled '
    'request","request":{"remote_ip":"127.0.0.1","remote_port":"55182","client_ip":"127.0.0.1",'
    '"proto":"HTTP/1.1","method":"GET","host":"myapp.localhost","uri":"/?q=1","headers":{'
    '"User-Agent":["python-httpx/0.28.1"],"Accept":["*/*"]}},"bytes_read":0,"user_id":"",'
    '"duration":0.003019103,"size":318,"status":200,"resp_headers":{"Via":["1.0 Caddy"]},'
    '"uuid":"7d89bac5-6498-4409-836e-37169bb394ac","request_id":'
    '"7d89bac5-6498-4409-836e-37169bb394ac","pier_app":"myapp"}'
)
CADDY_NO_WEB = (
    '{"level":"error","ts":1795840304.9155607,"logger":"http.log.access.pier","msg":"handled '
    'request","request":{"remote_ip":"127.0.0.1","remote_port":"55182","client_ip":"127.0.0.1",'
    '"proto":"HTTP/1.1","method":"GET","host":"noweb.localhost","uri":"/x","headers":{}},'
    '"bytes_read":0,"user_id":"","duration":0.000106781,"size":248,"status":503,'
    '"resp_headers":{"Server":["Caddy"]},"uuid":"b9e0964b","request_id":"b9e0964b",'
    '"pier_app":"noweb"}'
)
# With the fields `upstream` and `upstream_duration` logged (log_append placeholders).
CADDY_UPSTREAM = (
    '{"level":"info","ts":1795840312.152062,"logger":"http.log.access.pier","msg":"handled '
    'request","request":{"remote_ip":"127.0.0.1","remote_port":"35532","client_ip":"127.0.0.1",'
    '"proto":"HTTP/1.1","method":"POST","host":"myapp.localhost","uri":"/a\\"b","headers":{}},'
    '"bytes_read":0,"user_id":"","duration":0.005177512,"size":318,"status":201,'
    '"resp_headers":{},"uuid":"1fef","upstream_duration":4.820602999999999,'
    '"upstream":"172.18.0.5:5000","request_id":"1fef","pier_app":"myapp"}'
)
CADDY_UNKNOWN_HOST = (
    '{"level":"info","ts":1795840304.9170926,"logger":"http.log.access.pier","msg":"handled '
    'request","request":{"remote_ip":"127.0.0.1","client_ip":"127.0.0.1","proto":"HTTP/1.1",'
    '"method":"GET","host":"nope.localhost","uri":"/x","headers":{}},"bytes_read":0,'
    '"duration":0.000077375,"size":163,"status":404,"resp_headers":{}}'
)


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_docker_timestamp_becomes_microseconds_utc():
    assert (applog.utc_timestamp("2026-11-28T01:02:03.123456789Z")
            == "2026-11-28T01:02:03.123456+00:00")
    assert applog.utc_timestamp("2026-11-28T01:02:03.1Z") == "2026-11-28T01:02:03.100000+00:00"
    assert applog.utc_timestamp("2026-11-28T01:02:03Z") == "2026-11-28T01:02:03.000000+00:00"


def test_docker_since_keeps_nanoseconds():
    assert docker_since("1970-01-01T00:00:10.000000042Z") == "10.000000042"
    assert docker_since("2026-11-28T04:30:53.0332Z").endswith(".033200000")


def test_frames_survive_any_chunking():
    payloads = [(1, b"2026-11-28T01:02:03.000000001Z hello\n"), (2, b"x" * 300), (1, b"")]
    data = b"".join(frame(s, p) for s, p in payloads)
    for size in (1, 3, 7, 64, len(data)):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        got = [f for batch in iter_frames(chunks) for f in batch]
        assert got == payloads


def test_dechunk_decodes_chunked_bodies_split_anywhere():
    pieces = [b"hello ", b"x" * 70, b"world\n"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    for size in (1, 2, 5, 33, len(body)):
        reads = [body[i : i + size] for i in range(0, len(body), size)]
        assert b"".join(dechunk(reads)) == b"".join(pieces)


def test_joiner_passes_whole_lines_and_strips_line_ends():
    joiner = LineJoiner()
    assert joiner.feed(b"one\n", "t1") == [("t1", "one")]
    assert joiner.feed(b"two\r\n", "t2") == [("t2", "two")]
    assert joiner.feed(b"\n", "t3") == [("t3", "")]


def test_joiner_joins_partial_pieces_under_the_first_timestamp():
    joiner = LineJoiner()
    assert joiner.feed(b"par", "t1") == []
    assert joiner.feed(b"tial", "t2") == []
    assert joiner.feed(b" end\nnext", "t3") == [("t1", "partial end")]
    assert joiner.feed(b"\n", "t4") == [("t3", "next")]


def test_joiner_splits_long_lines_as_they_come_and_loses_nothing():
    joiner = LineJoiner(limit=10)
    out = []
    for piece in (b"a" * 7, b"b" * 7, b"c" * 7, b"\n"):
        out += joiner.feed(piece, "t")
    assert [text for _, text in out] == ["aaaaaaabbb", "bbbbccccccc"[:10], "c"]
    assert "".join(text for _, text in out) == "a" * 7 + "b" * 7 + "c" * 7


def test_joiner_does_not_add_an_empty_piece_after_an_exact_multiple():
    joiner = LineJoiner(limit=5)
    out = joiner.feed(b"abcdefghij", "t") + joiner.feed(b"\n", "t2") + joiner.feed(b"k\n", "t3")
    assert out == [("t", "abcde"), ("t", "fghij"), ("t3", "k")]


def test_joiner_replaces_bad_bytes_and_keeps_characters_cut_between_pieces():
    joiner = LineJoiner()
    euro = "€".encode()
    out = joiner.feed(b"price " + euro[:2], "t1") + joiner.feed(euro[2:] + b" \xff\xfe ok\n", "t2")
    assert out == [("t1", "price € \ufffd\ufffd ok")]
    # A character cut at the end of a piece that ends with a newline is replaced, not kept.
    assert joiner.feed(b"cut " + euro[:1] + b"\n", "t3") == [("t3", "cut \ufffd")]
    assert joiner.feed(b"after\n", "t4") == [("t4", "after")]


def test_joiner_splits_a_megabyte_line_into_store_sized_pieces():
    joiner, out = LineJoiner(), []
    data = b"x" * 1_000_000 + b"\n"
    for i in range(0, len(data), 16384):  # how Docker's json-file driver cuts it
        out += joiner.feed(data[i : i + 16384], f"t{i}")
    assert len(out) == 100
    assert all(len(text) == applog.MAX_LINE_CHARS for _, text in out)
    assert {ts for ts, _ in out} == {"t0"}


def test_router_line_reads_like_herokus():
    app, ts, message = router_line(json.loads(CADDY_OK))
    assert app == "myapp"
    assert ts == "2026-11-28T04:31:39.890069+00:00"
    assert message == (
        'at=info method=GET path="/?q=1" host=myapp.localhost '
        "request_id=7d89bac5-6498-4409-836e-37169bb394ac "
        'fwd="127.0.0.1" service=3ms status=200 bytes=318 protocol=http'
    )


def test_router_line_names_the_dyno_from_the_upstream():
    dynos = {"172.18.0.5": "web.2"}
    _, _, message = router_line(
        json.loads(CADDY_UPSTREAM), lambda address: dynos.get(address.split(":")[0])
    )
    assert 'method=POST path="/a%22b"' in message
    assert "dyno=web.2 service=5ms status=201" in message


# Written by HAProxy 2.6 with the log-format of runtime/router/haproxy.py.
HAPROXY_OK = (
    '{"ts":1795867987.880,"pier_app":"a","request_id":"3a9a7c01-b0e0-44d8-8655-0848f228e5d5",'
    '"request":{"method":"GET","uri":"\\/x?y=1","host":"a.localhost","remote_ip":"127.0.0.1"},'
    '"status":200,"size":663,"duration_ms":2,"upstream":"172.18.0.5:5000","connect_ms":0,'
    '"upstream_duration":2}'
)
HAPROXY_NO_WEB = (
    '{"ts":1795867754.314,"pier_app":"a","request_id":"x","request":{"method":"GET",'
    '"uri":"\\/","host":"a.localhost","remote_ip":"127.0.0.1"},"status":503,"size":93,'
    '"duration_ms":0,"upstream":"-:-","connect_ms":-1,"upstream_duration":-1}'
)
HAPROXY_UNKNOWN_HOST = HAPROXY_NO_WEB.replace('"pier_app":"a"', '"pier_app":"-"')


def test_router_line_from_haproxy():
    app, ts, message = router_line(json.loads(HAPROXY_OK), lambda address: "web.1")
    assert (app, ts) == ("a", "2026-11-28T12:13:07.880000+00:00")
    assert message == (
        'at=info method=GET path="/x?y=1" host=a.localhost '
        'request_id=3a9a7c01-b0e0-44d8-8655-0848f228e5d5 fwd="127.0.0.1" dyno=web.1 '
        "connect=0ms service=2ms status=200 bytes=663 protocol=http"
    )
    _, _, message = router_line(json.loads(HAPROXY_NO_WEB))
    assert message.startswith("at=error") and "connect=" not in message
    assert "service=0ms status=503" in message
    assert router_line(json.loads(HAPROXY_UNKNOWN_HOST)) is None


def test_router_line_marks_requests_no_process_answered_as_errors():
    _, _, message = router_line(json.loads(CADDY_NO_WEB))
    assert message.startswith("at=error method=GET")
    assert "status=503" in message
    assert router_line(json.loads(CADDY_UNKNOWN_HOST)) is None


# -- the writer ---------------------------------------------------------------------


class FakeStore:
    """Stands in for redis.Redis: records script calls, fails while ``down``."""

    def __init__(self):
        self.down = False
        self.batches: list[list] = []
        self.marks: dict = {}

    def register_script(self, _source):
        def call(keys, args, client):
            client.calls.append((keys, args))

        return call

    def pipeline(self, transaction=False):
        store = self

        class Pipe:
            calls: list = []

            def execute(self):
                import redis

                if store.down:
                    raise redis.ConnectionError("store down")
                for keys, (_maxlen, rows, marks) in self.calls:
                    store.batches.append([(keys[r[0] - 1], *r[1:]) for r in json.loads(rows)])
                    store.marks.update(json.loads(marks) if marks else {})

        pipe = Pipe()
        pipe.calls = []
        return pipe

    def messages(self, app):
        key = applog.stream_key(app)
        return [(row[2], row[4]) for batch in self.batches for row in batch if row[0] == key]


def lines(app, n, start=0):
    return [Line(app, "app", "web.1", "ts", f"line {i}") for i in range(start, start + n)]


def test_writer_keeps_a_bounded_buffer_while_the_store_is_down_and_reports_drops():
    store = FakeStore()
    writer = StreamWriter(store, limit=5)
    store.down = True
    writer.put(lines("a", 3), ("c1", "t3"))
    assert writer.flush() is False
    writer.put(lines("a", 4, start=3), ("c1", "t7"))
    writer.put(lines("b", 2))
    assert writer.flush() is False
    assert writer.dropped_total == 2 and writer.pending == 7
    store.down = False
    assert writer.flush() is True
    assert store.messages("a") == [("app", f"line {i}") for i in range(2, 7)] + [
        ("pier", "2 lines dropped while the log store was unavailable")
    ]
    assert store.messages("b") == [("app", "line 0"), ("app", "line 1")]
    assert store.marks == {"c1": "t7"}
    assert writer.pending == 0 and writer.written_total == 7


def test_writer_splits_long_messages_and_batches():
    store = FakeStore()
    writer = StreamWriter(store, batch=3)
    writer.put(lines("a", 4) + [Line("a", "router", "router", "ts", "y" * 25_000)])
    assert writer.flush()
    assert [len(batch) for batch in store.batches] == [3, 3, 1]
    assert [len(m) for _, m in store.messages("a")[4:]] == [10_000, 10_000, 5_000]


def test_writer_writes_to_a_real_redis(redis_client):
    app = f"t{uuid.uuid4().hex[:8]}"
    writer = StreamWriter(redis_client)
    writer.put(
        [
            Line(app, "app", "web.1", "2026-11-28T01:02:03.000001+00:00", "héllo \ufffd"),
            Line(app, "app", "web.2", "2026-11-28T01:02:03.000002+00:00", ""),
        ],
        (f"{app}-container", "2026-11-28T01:02:03.000000002Z"),
    )
    assert writer.flush()
    entries = [
        applog.LogLine.from_entry(i, f) for i, f in redis_client.xrange(applog.stream_key(app))
    ]
    assert [line.format() for line in entries] == [
        "2026-11-28T01:02:03.000001+00:00 app[web.1]: héllo \ufffd",
        "2026-11-28T01:02:03.000002+00:00 app[web.2]: ",
    ]
    assert redis_client.hget(SINCE_KEY, f"{app}-container") == "2026-11-28T01:02:03.000000002Z"
    redis_client.delete(applog.stream_key(app))
    redis_client.hdel(SINCE_KEY, f"{app}-container")


def test_access_log_tail_resumes_and_follows_rotation(tmp_path, redis_client):
    path = tmp_path / "access.log"
    path.write_text(CADDY_OK + "\n")  # there before the first start: not shipped
    store = FakeStore()
    writer = StreamWriter(store)
    tail = AccessLogTail(path, writer, redis_client)
    try:
        assert tail.poll_once() == 0
        with path.open("a") as f:
            f.write(CADDY_UNKNOWN_HOST + "\n" + CADDY_NO_WEB + "\n" + CADDY_OK[:40])
        assert tail.poll_once() == 1
        with path.open("a") as f:
            f.write(CADDY_OK[40:] + "\n")
        assert tail.poll_once() == 1
        path.rename(tmp_path / "access.log.1")
        path.write_text(CADDY_NO_WEB + "\n")
        assert tail.poll_once() == 1
        writer.flush()
        assert [m.split()[0] for _, m in store.messages("noweb")] == ["at=error", "at=error"]
        assert len(store.messages("myapp")) == 1
        field = f"router:{path}"
        assert store.marks[field] == f"{path.stat().st_ino}:{path.stat().st_size}"
        # A restarted tail resumes from the stored position; truncation starts over.
        redis_client.hset(SINCE_KEY, field, store.marks[field])
        again = AccessLogTail(path, writer, redis_client)
        assert again.poll_once() == 0
        path.write_text("")
        assert again.poll_once() == 0  # noticed by the size going down
        with path.open("a") as f:
            f.write(CADDY_OK + "\n")
        assert again.poll_once() == 1
    finally:
        redis_client.hdel(SINCE_KEY, f"router:{path}")


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"pier_app": "x"}'])
def test_access_log_tail_skips_what_is_not_a_request(tmp_path, redis_client, raw):
    path = tmp_path / "access.log"
    path.write_bytes(b"")
    tail = AccessLogTail(path, StreamWriter(FakeStore()), redis_client)
    try:
        tail.poll_once()
        path.write_bytes(raw + b"\n")
        assert tail.poll_once() == 0
    finally:
        redis_client.hdel(SINCE_KEY, f"router:{path}")
