"""The waker: the one upstream of every sleeping app, holding its requests while it wakes.

The router sends a sleeping app's requests here (:class:`runtime.sleep.WakingRouter`).
For each connection the waker reads the request head, finds the app by its Host header,
wakes it (:meth:`Sleeper.wake`) and waits until the runtime routes a web process of it;
then it connects to that process, sends the request head on unchanged and copies bytes
both ways until either side closes: the body (chunked or not), a streamed answer,
later requests of the same router connection (all for this app: routers keep connections
per backend). If no process is routed within the app's boot timeout (at most
``max_hold``, below the router's response timeout so the router never answers first),
the client gets a 503 page saying the app could not be woken.

It runs an asyncio server in a thread of the runtime process, on loopback: the router
runs on the same host (``make run`` and docker-compose's host network alike).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading

from runtime.router.pages import PAGE
from runtime.sleep import Sleeper

logger = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT = 10.0  # a client that sends no request head within this is dropped
POLL = 0.02  # how often a held request looks for a routed process


def not_woken_page(app: str, seconds: float) -> str:
    return PAGE.format(
        title="App did not wake",
        text=f"{app} was asleep and its web process did not start within {seconds:g}s. "
        "If you run it, check its logs with <code>pier logs</code>.",
    )


def response(status: str, body: str) -> bytes:
    data = body.encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n").encode() + data


def host_of(head: bytes) -> str:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            return value.strip().decode("latin-1")
    return ""


class Waker:
    def __init__(self, sleeper: Sleeper, *, host: str = "127.0.0.1", port: int = 0,
                 max_hold: float = 28.0) -> None:
        self.sleeper, self.host, self.port, self.max_hold = sleeper, host, port, max_hold
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._turn = itertools.count()

    def start(self) -> str:
        """Serve in a daemon thread; return the address the router should use ("ip:port")."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._server = self._loop.run_until_complete(asyncio.start_server(
                    self._handle, self.host, self.port, limit=HEAD_LIMIT))
            except OSError as e:
                failure.append(e)
                ready.set()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="pier-waker")
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop listening and drop the connections held or passed on (tests, shutdown)."""
        if self._loop is None or self._server is None:
            return

        async def shutdown() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            asyncio.get_running_loop().stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            writer.close()  # the router's health check, or a client that gave up
            return
        try:
            await self._serve(head, reader, writer)
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _serve(self, head: bytes, reader, writer) -> None:
        app = self.sleeper.app_for_host(host_of(head))
        if app is None:  # sleep was turned off meanwhile: the router's table changes soon
            writer.write(response("503 Service Unavailable", PAGE.format(
                title="Try again", text="This app's routing is changing; try again.")))
            await writer.drain()
            return
        self.sleeper.wake(app.id)
        hold = min(app.healthcheck.boot_timeout, self.max_hold)
        try:
            upstream = await self._connect(app.id, hold)
        finally:
            self.sleeper.release(app.id)
        if upstream is None:
            logger.warning("%s did not wake within %gs", app.name, hold)
            writer.write(response("503 Service Unavailable", not_woken_page(app.name, hold)))
            await writer.drain()
            return
        up_reader, up_writer = upstream
        up_writer.write(head)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()

    async def _connect(self, app_id: str, hold: float):
        """Return a connection to one of the app's routed processes, or None past ``hold``."""
        deadline = asyncio.get_running_loop().time() + hold
        while asyncio.get_running_loop().time() < deadline:
            addresses = self.sleeper.upstreams(app_id)
            if addresses:
                address = addresses[next(self._turn) % len(addresses)]
                ip, _, port = address.rpartition(":")
                with contextlib.suppress(OSError):
                    return await asyncio.wait_for(asyncio.open_connection(ip, int(port)), 1.0)
            else:
                self.sleeper.hurry()
            await asyncio.sleep(POLL)
        return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then pass the EOF on (the other direction may still have bytes)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()
