"""WebSocket ``/api/apps/{app}/dynos/attach``: `pier run` on a terminal, keys in, screen out.

The client sends one JSON text message first, ``{"command", "size", "rows", "cols"}``;
after it, binary messages are what the user types and ``{"resize": [rows, cols]}`` text
messages follow the terminal's size. The server sends the terminal's output as binary
messages and, when the process ends, ``{"exit_code": N}`` before closing; a refusal is
``{"error": ..., "id": ...}``. Served beside Django's handler (like the log streams), with
Bearer tokens only, so an open session holds no thread.

``/api/apps/{app}/{pg|redis}/shell`` works the same way for `pier pg:psql` and
`pier redis:cli`: its first message is ``{"addon", "rows", "cols"}`` and the process is the
add-on's client (see :mod:`api.services.addon_shell`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from api.authentication import header_user
from api.errors import PierError, StartFailed
from api.exceptions import error_fields
from api.oneoff_views import json_object, prepare_for_header
from api.selectors import app_get
from api.services.addon_shell import addon_shell_prepare
from api.services.oneoff import ONEOFF_TIMEOUT_SECONDS, oneoff_attach, oneoff_ended

PATH = re.compile(r"^/api/apps/(?P<app>[^/]+)/(?:dynos/attach|(?P<topic>pg|redis)/shell)$")


def with_attach(inner):
    """Wrap an ASGI application: terminal sessions here, everything else to ``inner``."""

    async def application(scope, receive, send):
        match = scope["type"] == "websocket" and PATH.match(scope["path"])
        if not match:
            return await inner(scope, receive, send)
        await _session(scope, receive, send, match["app"], match["topic"])

    return application


async def _prepare(authorization: str, app: str, topic: str | None, params: dict):
    """Return (desired, command, memory, dyno): `pier run`'s command, or an add-on's client."""
    if topic is None:
        desired, memory, dyno = await prepare_for_header(authorization, app, params)
        return desired, params["command"], memory, dyno
    return await _prepare_shell(authorization, app, topic, params.get("addon"))


@sync_to_async
def _prepare_shell(authorization: str, app_name: str, topic: str, addon):
    user, _ = header_user(authorization)
    app = app_get(user=user, name=app_name)
    return addon_shell_prepare(app=app, user=user, topic=topic,
                               name=addon if isinstance(addon, str) else None)


def _authorization(scope) -> str:
    return dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")


async def _refuse(send, exc: PierError) -> None:
    fields = error_fields(exc)
    text = json.dumps({"error": fields["message"], "id": fields["id"], "status": exc.status})
    await send({"type": "websocket.send", "text": text})
    await send({"type": "websocket.close", "code": 4000 + exc.status})


async def _session(scope, receive, send, app: str, topic: str | None) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    first = await receive()
    try:
        params = json_object(first.get("text") or "")
        desired, command, memory, dyno = await _prepare(_authorization(scope), app, topic, params)
    except PierError as e:
        return await _refuse(send, e)
    finally:
        # The database work is done: a session of hours must not hold a connection.
        await sync_to_async(close_old_connections)()
    rows, cols = _size(params.get("rows"), 24), _size(params.get("cols"), 80)
    try:
        attached = await sync_to_async(oneoff_attach, thread_sensitive=False)(
            desired=desired, command=command, memory_mb=memory, dyno=dyno,
            rows=rows, cols=cols)
    except Exception as e:  # reported to the user, who sees nothing else
        return await _refuse(send, StartFailed(f"could not start the process: {e}"))
    code = None
    try:
        code = await _bridge(attached, receive, send)
    finally:
        await sync_to_async(oneoff_ended, thread_sensitive=False)(
            attached=attached, app_id=desired.id, code=code)
    if code is not None:
        await send({"type": "websocket.send", "text": json.dumps({"exit_code": code})})
        await send({"type": "websocket.close", "code": 1000})


async def _bridge(attached, receive, send) -> int | None:
    """Copy both ways until the process ends (its exit status) or the client leaves (None)."""
    loop = asyncio.get_running_loop()
    sock = attached.socket
    sock.setblocking(False)

    async def screen():
        while data := await loop.sock_recv(sock, 65536):
            await send({"type": "websocket.send", "bytes": data})

    async def keys():
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes"):
                await loop.sock_sendall(sock, message["bytes"])
            elif message.get("text"):
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    rows, cols = json.loads(message["text"])["resize"]
                    await loop.run_in_executor(None, attached.resize, _size(rows, 24),
                                               _size(cols, 80))

    output, typing = asyncio.ensure_future(screen()), asyncio.ensure_future(keys())
    try:
        done, _ = await asyncio.wait({output, typing}, timeout=ONEOFF_TIMEOUT_SECONDS,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        typing.cancel()
        output.cancel()
    if output not in done:
        return None  # the client went away (or the session timed out): the process is killed
    return await loop.run_in_executor(None, attached.wait)


def _size(value, default: int) -> int:
    return value if isinstance(value, int) and 1 <= value <= 1000 else default
