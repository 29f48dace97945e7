"""Follow every app container's stdout and stderr into its app's stream.

:class:`Shipper` finds containers labelled ``pier.app`` and ``pier.process`` (Docker
events plus a periodic rescan) and runs one :class:`Follower` thread each, which reads
the container's log from the last shipped timestamp and hands ``app[<type>.<index>]``
lines of its ``pier.app-id`` to the :class:`~runtime.logship.writer.StreamWriter`.
One-off containers (``pier.oneoff``, e.g. ``pier run``) are not followed: their output
goes to whoever ran them. Docker-specific: the Docker backend builds it
(:meth:`runtime.backends.docker.Backend.output_shipper`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable

import redis

from runtime import applog
from runtime.backends.docker import app_key
from runtime.logship.framing import LineJoiner, body_chunks, docker_since, iter_frames
from runtime.logship.writer import SINCE_KEY, Line, StreamWriter

logger = logging.getLogger(__name__)


class EngineMessage(Exception):
    """The engine wrote a message of its own into a log stream."""


class Follower(threading.Thread):
    """Read one container's stdout and stderr from ``since`` until it stops."""

    def __init__(self, api, container_id: str, app: str, dyno: str, since: str | None,
                 writer: StreamWriter, on_exit: Callable[[Follower], None],
                 kind: str = "containers") -> None:
        """``kind``: ``containers``, or ``tasks`` for a Swarm task (``container_id`` its id)."""
        super().__init__(name=f"logship-{app}-{dyno}", daemon=True)
        self.api, self.container_id, self.app, self.dyno = api, container_id, app, dyno
        self.since, self.writer, self.on_exit, self.kind = since, writer, on_exit, kind
        self._response = None

    def run(self) -> None:
        try:
            self._follow()
        except Exception as e:  # noqa: BLE001 - the rescan starts a new follower
            logger.info("stopped following %s %s: %s", self.app, self.dyno, e)
        finally:
            self.on_exit(self)

    def _follow(self) -> None:
        params = {"stdout": 1, "stderr": 1, "follow": 1, "timestamps": 1}
        if self.since:
            params["since"] = docker_since(self.since)
        url = f"{self.api.base_url}/v{self.api.api_version}/{self.kind}/{self.container_id}/logs"
        self._response = self.api.get(url, params=params, stream=True, timeout=(10, None))
        try:
            self._response.raise_for_status()
            self._ship(iter_frames(body_chunks(self._response)))
        finally:
            self._response.close()

    def _ship(self, batches: Iterable[list[tuple[int, bytes]]]) -> None:
        joiners = {1: LineJoiner(), 2: LineJoiner()}
        skip_until, app, dyno = self.since, self.app, self.dyno
        for frames in batches:
            lines, mark = [], ""
            for stream, payload in frames:
                ts = payload[: payload.find(b" ")].decode("ascii", "replace")
                if not ts[:1].isdigit():
                    # The engine's own message, not output: the manager's log broker says
                    # "Error grabbing logs: ... node is not available" for a while after a
                    # node comes back. Stop; the rescan follows again from the last mark.
                    raise EngineMessage(payload.decode(errors="replace").strip())
                if skip_until:
                    if ts <= skip_until:  # `since` is inclusive; timestamps are fixed-width
                        continue
                    skip_until = None
                joiner = joiners.get(stream) or joiners[1]
                for first, text in joiner.feed(payload[len(ts) + 1 :], ts):
                    lines.append(Line(app, "app", dyno, applog.utc_timestamp(first), text))
                    mark = ts  # a piece of a line still open is read again after a restart
            if lines:
                self.writer.put(lines, (self.container_id, mark))

    def close(self) -> None:
        """Cut the log connection (the thread then ends)."""
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                from docker.types import CancellableStream

                CancellableStream(iter(()), response).close()


class Shipper:
    """Follow every app container's output into its app's stream.

    ``labels`` (like the Docker backend's) narrow which containers are followed.
    """

    follow_kind = "containers"  # what a Follower reads the logs of

    def __init__(self, docker_client, redis_client, *, writer: StreamWriter | None = None,
                 labels: dict[str, str] | None = None, rescan: float = 10.0) -> None:
        self.docker = docker_client
        self.redis = redis_client
        self.writer = writer or StreamWriter(redis_client)
        self.labels = dict(labels or {})
        self.rescan = rescan
        self.stop_event = threading.Event()
        self._followers: dict[str, Follower] = {}
        self._done: set[str] = set()  # stopped containers read to the end
        self._addresses: dict[str, str] = {}  # "ip" -> "web.1", for router lines
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._events = None

    def _filters(self) -> list[str]:
        return ["pier.app", "pier.process"] + [f"{k}={v}" for k, v in self.labels.items()]

    def dyno_for(self, address: str) -> str | None:
        return self._addresses.get(address.rpartition(":")[0] or address)

    def scan(self) -> None:
        """Follow every matching container not followed yet; forget vanished ones."""
        summaries = self.docker.api.containers(all=True, filters={"label": self._filters()})
        since = self._since_marks()
        present = set()
        for summary in summaries:
            cid = summary["Id"]
            present.add(cid)
            labels = summary.get("Labels") or {}
            dyno = f"{labels.get('pier.process')}.{labels.get('pier.index')}"
            for network in ((summary.get("NetworkSettings") or {}).get("Networks") or {}).values():
                if network.get("IPAddress"):
                    self._addresses[network["IPAddress"]] = dyno
            running = summary.get("State") == "running"
            self._start(cid, app_key(labels), dyno, since.get(cid), running)
        self._forget_vanished(present, since)

    def _forget_vanished(self, present: set[str], since: dict[str, str]) -> None:
        """Drop what is known of the containers (or tasks) the engine no longer holds."""
        with self._lock:
            self._done &= present
        stale = [cid for cid in since if not cid.startswith("router:") and cid not in present]
        if stale and not self.labels:  # a labelled (test) shipper sees only part of them
            with contextlib.suppress(redis.RedisError):
                self.redis.hdel(SINCE_KEY, *stale)

    def _since_marks(self) -> dict[str, str]:
        try:
            raw = self.redis.hgetall(SINCE_KEY)
        except redis.RedisError as e:
            logger.warning("cannot read shipped positions, skipping scan: %s", e)
            raise
        return {applog.text(k): applog.text(v) for k, v in raw.items()}

    def _start(self, cid: str, app: str, dyno: str, since: str | None, running: bool) -> None:
        with self._lock:
            if cid in self._followers or (cid in self._done and not running):
                return
            self._done.discard(cid)
            follower = Follower(self.docker.api, cid, app, dyno, since, self.writer,
                                self._follower_ended, self.follow_kind)
            self._followers[cid] = follower
        follower.start()

    def _follower_ended(self, follower: Follower) -> None:
        with self._lock:
            self._followers.pop(follower.container_id, None)
            self._done.add(follower.container_id)

    def _watch_events(self) -> None:
        """Start following containers as soon as Docker says they started."""
        while not self.stop_event.is_set():
            try:
                self._events = self.docker.events(
                    decode=True, filters={"label": self._filters(), "type": "container",
                                          "event": ["start"]})
                for _ in self._events:
                    self._scan_quietly()
            except Exception as e:  # noqa: BLE001 - reconnect; the rescan covers the gap
                if not self.stop_event.is_set():
                    logger.warning("Docker events unavailable: %s", e)
            self.stop_event.wait(1.0)

    def _scan_quietly(self) -> None:
        try:
            self.scan()
        except Exception as e:  # noqa: BLE001 - retried at the next rescan
            logger.warning("container scan failed: %s", e)

    def _rescan_loop(self) -> None:
        while not self.stop_event.is_set():
            self._scan_quietly()
            self.stop_event.wait(self.rescan)

    def start(self) -> None:
        for target in (lambda: self.writer.run(self.stop_event), self._watch_events,
                       self._rescan_loop):
            thread = threading.Thread(target=target, name="logship", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following (lines already read are written first)."""
        self.stop_event.set()
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.close()
        with self._lock:
            followers = list(self._followers.values())
        for follower in followers:
            follower.close()
        for thread in self._threads:
            thread.join(timeout)
