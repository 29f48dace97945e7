"""Serve ``/api/apps/{app}/log-stream`` beside Django's request handler, not through it.

Django runs every ASGI request in its own asgiref ThreadSensitiveContext, and its
middleware (MiddlewareMixin) calls ``sync_to_async(thread_sensitive=True)``: each request
gets a thread of its own, kept until the response ends. A tail lasts hours, so 500 idle
tails were 500 threads (~270 KB each, bench/logs.py). Here the same view runs without the
middleware chain: the session (for the dashboard) and the host check are done by hand,
and the few sync calls share asgiref's one sync thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import HttpResponse

from logs.views import log_stream

PATH = re.compile(r"^/api/apps/(?P<app>[^/]+)/log-stream$")


def with_log_streams(django_app):
    """Wrap Django's ASGI application: log streams here, everything else to Django."""

    async def application(scope, receive, send):
        match = scope["type"] == "http" and PATH.match(scope["path"])
        if not match or scope["method"] not in ("GET", "HEAD"):
            return await django_app(scope, receive, send)
        await serve(scope, receive, send, match["app"])

    return application


def _request(scope) -> ASGIRequest:
    request = ASGIRequest(scope, io.BytesIO())
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))

    async def auser():
        if not hasattr(request, "_acached_user"):
            request._acached_user = await auth.aget_user(request)
        return request._acached_user

    request.auser = auser
    return request


async def serve(scope, receive, send, app: str) -> None:
    request = _request(scope)
    try:
        request.get_host()  # ALLOWED_HOSTS, as Django's CommonMiddleware would check
    except DisallowedHost:
        response = HttpResponse("Bad Request: host not allowed", status=400,
                                content_type="text/plain")
    else:
        await sync_to_async(close_old_connections)()
        response = await log_stream(request, app)
        # The database work is done; a tail must not hold a connection for hours.
        await sync_to_async(close_old_connections)()
    await send({
        "type": "http.response.start",
        "status": response.status_code,
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()],
    })
    if not response.streaming:
        await send({"type": "http.response.body", "body": response.content})
        return
    body = aiter(response.streaming_content)
    streaming = asyncio.ensure_future(_send_all(body, send))
    disconnect = asyncio.ensure_future(_until_disconnect(receive))
    try:
        await asyncio.wait({streaming, disconnect}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (streaming, disconnect):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        with contextlib.suppress(Exception):
            await body.aclose()
    if streaming.done() and not streaming.cancelled() and streaming.exception() is None:
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": b""})


async def _send_all(body, send) -> None:
    async for chunk in body:
        data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
        await send({"type": "http.response.body", "body": data, "more_body": True})


async def _until_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
