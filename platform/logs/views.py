"""GET /api/apps/{app}/log-stream: plain text for the CLI, SSE for the dashboard.

Async, so that a tail waiting on Redis holds no thread: hundreds of tails cost a few
connections' worth of memory and never block API requests. The app is found by name once,
then read by id (its stream's key); a tail asks every PIER_ACCESS_RECHECK seconds whether
its user may still read the app, and ends when not.
"""

import asyncio
import weakref

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import StreamingHttpResponse

from api.authentication import request_user
from api.errors import Invalid, PierError, Unauthorized
from api.exceptions import error_response
from api.selectors import app_get, app_visible
from logs.feed import BLOCK_MS, Feeds
from logs.reader import LogFilter, history, tail
from logs.recheck import until_revoked
from runtime.applog import SOURCES, LogLine, now_timestamp

_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
MAX_CONNECTIONS_PER_WORKER = 10_000


def _redis() -> tuple[aioredis.Redis, Feeds]:
    """Return the client and the app feeds bound to the running event loop (one per loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        # A feed holds a connection for a blocking read of up to BLOCK_MS: redis-py's
        # default 5 s read timeout would cut it off, and its 100-connection cap would make
        # the 101st app's history wait.
        client = aioredis.Redis.from_url(
            settings.REDIS_URL,
            max_connections=MAX_CONNECTIONS_PER_WORKER,
            socket_timeout=BLOCK_MS / 1000 + 10,
        )
        _clients[loop] = (client, Feeds(client))
    return _clients[loop]


def _params(request) -> tuple[int, bool, LogFilter]:
    try:
        lines = int(request.GET.get("lines", "100"))
    except ValueError:
        raise Invalid("lines must be a whole number") from None
    if not 0 <= lines <= settings.PIER_LOG_BUFFER:
        raise Invalid(f"lines must be between 0 and {settings.PIER_LOG_BUFFER}")
    source = request.GET.get("source", "")
    if source and source not in SOURCES:
        raise Invalid(f"source must be one of {', '.join(SOURCES)}")
    follow = request.GET.get("tail", "").lower() in {"1", "true", "yes"}
    return lines, follow, LogFilter(source=source, dyno=request.GET.get("dyno", ""))


async def log_stream(request, app: str):
    try:
        user = await request_user(request)
        found = await sync_to_async(app_get)(user=user, name=app)
        lines, follow, flt = _params(request)
    except PierError as e:
        return error_response(e)
    sse = "text/event-stream" in request.headers.get("Accept", "")
    resume_from = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    body = _events(str(found.id), lines, follow, flt, sse, resume_from,
                   lambda: _still_allowed(request, found.pk))
    response = StreamingHttpResponse(
        body, content_type="text/event-stream" if sse else "text/plain; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _still_allowed(request, app_id) -> bool:
    try:
        user = await request_user(request, fresh=True)
    except Unauthorized:
        return False
    return await sync_to_async(_visible)(user=user, app_id=app_id)


def _visible(*, user, app_id) -> bool:
    close_old_connections()  # the tail's thread outlives any request: no dead connection
    return app_visible(user=user, app_id=app_id)


async def _events(app_id, lines, follow, flt, sse, resume_from, allowed):
    client, feeds = _redis()
    if resume_from:
        after = resume_from  # a reconnecting client: continue right after what it saw
    else:
        recent, after = await history(client, app_id, lines, flt)
        if recent:
            yield "".join(_render(line, sse) for line in recent)
    if not follow:
        return
    batches = tail(client, feeds, app_id, after, flt)
    async for batch in until_revoked(batches, allowed, settings.PIER_ACCESS_RECHECK):
        # One chunk per batch, not per line: a busy app's tail keeps up.
        if batch is not None:
            yield "".join(_render(line, sse) for line in batch)
        elif sse:
            yield ": keep-alive\n\n"
    # A tail never ends by itself: only lost access ends it.
    notice = LogLine(id="", timestamp=now_timestamp(), source="pier", dyno="logs",
                     message="This tail ended: you no longer have access to this app.")
    yield f"data: {notice.format()}\n\n" if sse else notice.format() + "\n"


def _render(line, sse: bool) -> str:
    if sse:
        return f"id: {line.id}\ndata: {line.format()}\n\n"
    return line.format() + "\n"
