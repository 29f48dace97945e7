"""The log-stream endpoint against real Redis, through Django's ASGI stack."""

import asyncio

import pytest
from django.test import AsyncClient

from api.services.apps import app_create
from runtime import applog

pytestmark = pytest.mark.django_db(transaction=True)


# The stream of the app "logged" is keyed by its id, set by the app fixture.
STREAM = {}


@pytest.fixture
def app(user, redis_client):
    app = app_create(user=user, name="logged")
    STREAM["id"] = str(app.id)
    redis_client.delete(applog.stream_key(STREAM["id"]))
    yield app
    redis_client.delete(applog.stream_key(STREAM["id"]))


def write(redis_client, dyno: str, message: str, source: str = "app"):
    applog.append(redis_client, STREAM["id"], source=source, dyno=dyno, message=message)


class client_for:  # reads like the sync fixture of the same name
    """An AsyncClient that sends user's token with every request."""

    def __init__(self, user):
        self.client, self.auth = AsyncClient(), f"Bearer {user.plaintext_token}"

    async def get(self, path, params=None, headers=None):
        headers = {"Authorization": self.auth, **(headers or {})}
        return await self.client.get(path, params, headers=headers)


async def read_lines(response, count: int) -> list[str]:
    lines, buffer = [], ""
    iterator = aiter(response.streaming_content)
    while len(lines) < count:
        chunk = await asyncio.wait_for(anext(iterator), timeout=10)
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        *done, buffer = buffer.split("\n")
        lines.extend(done)
    return lines


def test_history_in_heroku_format_with_filters(user, app, redis_client):
    write(redis_client, "web.1", "hello from web")
    write(redis_client, "worker.1", "working")
    write(redis_client, "router", "GET / 200", source="router")
    write(redis_client, "web.2", "second web")

    async def run():
        client = client_for(user)
        everything = await client.get("/api/apps/logged/log-stream", {"lines": 10})
        only_web = await client.get("/api/apps/logged/log-stream", {"dyno": "web", "lines": 1})
        routers = await client.get("/api/apps/logged/log-stream", {"source": "router"})
        return [
            b"".join([c async for c in r.streaming_content]).decode()
            for r in (everything, only_web, routers)
        ]

    everything, only_web, routers = asyncio.run(run())
    lines = everything.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "app[web.1]: hello from web",
        "app[worker.1]: working",
        "router[router]: GET / 200",
        "app[web.2]: second web",
    ]
    assert lines[0][:4].isdigit() and "+00:00 " in lines[0]
    assert only_web.splitlines()[0].endswith("app[web.2]: second web")
    assert len(only_web.splitlines()) == 1
    assert routers.splitlines()[0].endswith("router[router]: GET / 200")


def test_tail_continues_from_history_without_gap_or_repeat(user, app, redis_client):
    for i in range(5):
        write(redis_client, "web.1", f"old {i}")

    async def run():
        response = await client_for(user).get(
            "/api/apps/logged/log-stream", {"lines": 2, "tail": "true"}
        )
        first = await read_lines(response, 2)
        for i in range(3):
            write(redis_client, "web.1", f"new {i}")
        more = await read_lines(response, 3)
        await response.streaming_content.aclose()
        return first + more

    lines = asyncio.run(run())
    assert [line.rsplit(": ", 1)[1] for line in lines] == [
        "old 3",
        "old 4",
        "new 0",
        "new 1",
        "new 2",
    ]


def test_sse_resumes_after_last_event_id(user, app, redis_client):
    write(redis_client, "web.1", "seen")
    write(redis_client, "web.1", "missed")
    seen_id = redis_client.xrange(applog.stream_key(STREAM["id"]))[0][0]

    async def run():
        response = await client_for(user).get(
            "/api/apps/logged/log-stream",
            {"tail": "1"},
            headers={"Accept": "text/event-stream", "Last-Event-ID": seen_id},
        )
        lines = await read_lines(response, 2)
        await response.streaming_content.aclose()
        return response, lines

    response, lines = asyncio.run(run())
    assert response["Content-Type"] == "text/event-stream"
    assert lines[0].startswith("id: ")
    assert lines[1].startswith("data: ") and lines[1].endswith("app[web.1]: missed")


def test_long_and_binary_lines_are_split_and_replaced(user, app, redis_client):
    write(redis_client, "web.1", b"\xff\xfebinary" + b"x" * 25_000)

    async def run():
        response = await client_for(user).get("/api/apps/logged/log-stream")
        return b"".join([c async for c in response.streaming_content]).decode()

    lines = asyncio.run(run()).splitlines()
    assert len(lines) == 3
    assert "\ufffd\ufffdbinary" in lines[0]


@pytest.mark.parametrize(
    "params, status",
    [({"lines": "lots"}, 422), ({"lines": "-1"}, 422), ({"source": "kernel"}, 422)],
)
def test_bad_parameters(user, app, params, status):
    response = asyncio.run(client_for(user).get("/api/apps/logged/log-stream", params))
    assert response.status_code == status
    assert response.json()["id"] == "invalid_params"


def test_access_control(user, app, make_user):
    stranger = make_user("stranger@example.com")
    assert asyncio.run(client_for(stranger).get("/api/apps/logged/log-stream")).status_code == 404
    assert asyncio.run(AsyncClient().get("/api/apps/logged/log-stream")).status_code == 401


def test_an_idle_tail_outlives_the_redis_clients_default_read_timeout(user, app, redis_client):
    """A tail that waits longer than redis-py's default 5 s read timeout must stay open."""

    async def run():
        response = await client_for(user).get("/api/apps/logged/log-stream", {"tail": "1"})
        iterator = aiter(response.streaming_content)
        reader = asyncio.ensure_future(anext(iterator))
        await asyncio.sleep(7)
        write(redis_client, "web.1", "after a long quiet")
        chunk = await asyncio.wait_for(reader, timeout=10)
        await response.streaming_content.aclose()
        return chunk.decode() if isinstance(chunk, bytes) else chunk

    assert asyncio.run(run()).rstrip().endswith("app[web.1]: after a long quiet")


def test_many_tails_of_an_app_share_one_redis_read(user, app, redis_client):
    """Fifty tails of one app: one reader connection, and every tail gets every line."""

    async def run():
        client = client_for(user)
        responses = [await client.get("/api/apps/logged/log-stream", {"tail": "1", "lines": "0"})
                     for _ in range(50)]
        readers = [asyncio.ensure_future(read_lines(r, 2)) for r in responses]
        await asyncio.sleep(0.5)  # every tail is waiting on the shared feed
        blocked = [c for c in redis_client.client_list() if c.get("cmd") == "xread"]
        write(redis_client, "web.1", "one")
        write(redis_client, "web.2", "two")
        got = await asyncio.gather(*readers)
        for response in responses:
            await response.streaming_content.aclose()
        return blocked, got

    blocked, got = asyncio.run(run())
    assert len(blocked) == 1
    assert all([line.split(" ", 1)[1] for line in lines] == ["app[web.1]: one", "app[web.2]: two"]
               for lines in got)


def test_a_tail_that_falls_behind_the_cap_is_told_it_skipped_lines(user, app, redis_client):
    import redis.asyncio as aioredis
    from django.conf import settings

    from logs.feed import QUEUE_LINES, Feeds
    from logs.reader import LogFilter, tail

    async def run():
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        write(redis_client, "web.1", "first")
        first = redis_client.xrange(applog.stream_key(STREAM["id"]))[-1][0]
        lines = tail(client, Feeds(client), STREAM["id"], first, LogFilter())
        reader = asyncio.ensure_future(anext(lines))
        await asyncio.sleep(0.3)
        assert not reader.done()
        # More lines than the tail may have queued, in a stream capped at 20 lines, while
        # this tail reads nothing.
        for chunk in range(0, QUEUE_LINES + 200, 200):
            pipe = redis_client.pipeline()
            for i in range(chunk, chunk + 200):
                pipe.xadd(applog.stream_key(STREAM["id"]),
                          {"ts": "t", "source": "app", "dyno": "web.1", "line": f"n{i}"},
                          maxlen=20, approximate=False)
            pipe.execute()
            await asyncio.sleep(0.01)
        seen = [await asyncio.wait_for(reader, 10)]
        final = f"n{QUEUE_LINES + 199}"
        while not any(line.message == final for batch in seen if batch for line in batch):
            seen.append(await asyncio.wait_for(anext(lines), 10))
        await lines.aclose()
        await client.aclose()
        return [line for batch in seen if batch for line in batch]

    got = asyncio.run(run())
    messages = [line.message for line in got]
    skipped = [line for line in got if line.source == "pier" and line.dyno == "logs"]
    assert skipped and "skipped" in skipped[0].message
    assert messages[-1] == f"n{QUEUE_LINES + 199}"
    numbers = [int(m[1:]) for m in messages if m.startswith("n")]
    assert numbers == sorted(set(numbers))  # skipped lines, but never repeated or reordered
