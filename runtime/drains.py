"""Deliver each app's log lines to its drains, as Heroku's log drains do.

Drain URLs: ``syslog+tls://host:port`` and ``syslog://host:port`` (TCP, RFC 5424 messages
framed by octet counting, RFC 6587), ``https://...`` and ``http://...`` (batched POSTs of
``application/logplex-1`` bodies: octet-counted RFC 5424 messages, one a line).

Each drain of each app gets its own thread (:class:`Drain`): it reads the app's stream
from a position kept in Redis (hash ``pier:drains:pos``, field ``<app id>:<digest of the
URL>``, updated after each delivered batch, so a restart neither repeats nor skips
much), keeps at most ``limit`` undelivered lines in memory, and retries with
exponential backoff. While a drain is unreachable its thread keeps reading, dropping
the oldest lines beyond ``limit``; it reports how many in a ``pier[logs]`` line once
the drain takes lines again. A slow or dead drain only ever
holds up its own thread. :class:`DrainManager` starts and stops drains to match
``drains_source()``, a callable returning ``{app id: [url, ...]}``. Apps are keyed by
id, not name, so a renamed app's drains carry on where they were and a destroyed app's
positions (:func:`positions_forget`) are never picked up by the name's next owner.

Drains go only to public addresses (:mod:`runtime.outbound`): each connect resolves the
host, checks every address and connects to a checked one. A drain whose host turns out
non-public is stopped and says so in a ``pier[logs]`` line; it is not retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis

from runtime import applog, outbound
from runtime.applog import LogLine

logger = logging.getLogger(__name__)

POSITIONS_KEY = "pier:drains:pos"
SCHEMES = ("syslog+tls", "syslog", "https", "http")
PRI = 190  # facility local7, severity info: what Heroku sends for app lines
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
DrainsSource = Callable[[], dict[str, list[str]]]


class DeliveryError(Exception):
    """The drain did not take the batch; try again later."""


class Rejected(Exception):
    """The drain refused the batch for good (an HTTP 4xx): drop it, don't retry."""


# -- pure functions -------------------------------------------------------------------


def validate_drain_url(url: str) -> str:
    """Return ``url`` normalised (scheme and host lower case), or raise ValueError."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("a drain URL is required, e.g. syslog+tls://logs.example.com:6514")
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValueError("a drain URL must not contain spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"unsupported drain URL scheme {parts.scheme or '(none)'!r}: "
                         "use syslog+tls://, syslog://, https:// or http://")
    try:
        port = parts.port
    except ValueError as e:
        raise ValueError(f"invalid port in drain URL {url!r}") from e
    if port == 0:
        raise ValueError(f"invalid port 0 in drain URL {url!r}")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"drain URL {url!r} has no host")
    _check_host(host)
    if scheme.startswith("syslog"):
        if port is None:
            raise ValueError(f"a syslog drain needs a port: {scheme}://{host}:PORT")
        if parts.username or parts.password or parts.path not in ("", "/") or (
                parts.query or parts.fragment):
            raise ValueError(f"a syslog drain URL is only {scheme}://host:port")
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    if parts.username is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def _check_host(host: str) -> None:
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"invalid host name {host!r} in drain URL")


def check_destination(url: str, policy: outbound.Policy) -> None:
    """Raise outbound.Refused (or Unresolved) unless a validated drain URL's host resolves
    to public addresses only, now."""
    parts = urlsplit(url)
    policy.addresses(parts.hostname, parts.port, what="drain host")


def redact(url: str) -> str:
    """Return url without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _field(value: str, limit: int) -> str:
    """Return an RFC 5424 header field: printable ASCII without spaces, or ``-``."""
    text = "".join(ch if 33 <= ord(ch) <= 126 else "_" for ch in value)[:limit]
    return text or "-"


def syslog_message(app: str, line: LogLine, pri: int = PRI) -> bytes:
    """Return ``<PRI>1 TIMESTAMP HOST APP PROCID - - MSG`` for one log line.

    HOST is the Pier app's id (it survives a rename, as Heroku's drain token does), APP the
    source (``app``, ``router``, ``pier``), PROCID the dyno.
    """
    header = (f"<{pri}>1 {_field(line.timestamp, 64)} {_field(app, 255)} "
              f"{_field(line.source, 48)} {_field(line.dyno, 128)} - - ")
    return header.encode() + line.message.encode("utf-8", "replace")


def octet_frame(message: bytes) -> bytes:
    """Frame one message by octet counting (RFC 6587): ``<length> <message>``."""
    return b"%d %s" % (len(message), message)


def logplex_body(messages: Iterable[bytes]) -> bytes:
    """Return an HTTPS drain body as Heroku's logplex sends it: frames ending in newline,
    the newline counted in the length."""
    return b"".join(octet_frame(message + b"\n") for message in messages)


# -- senders --------------------------------------------------------------------------


class SyslogSender:
    """Send octet-counted frames over one TCP (or TLS) connection, reconnecting on error."""

    def __init__(self, host: str, port: int, *, policy: outbound.Policy, tls: bool = False,
                 ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0) -> None:
        self.host, self.port, self.tls, self.timeout = host, port, tls, timeout
        self.policy, self.ssl_context = policy, ssl_context
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = self.policy.connect(self.host, self.port, timeout=self.timeout,
                                   what="drain host")
        if self.tls:
            context = self.ssl_context or ssl.create_default_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=self.host)
            except (OSError, ssl.SSLError):
                sock.close()
                raise
        return sock

    def _peer_closed(self) -> bool:
        """Syslog servers never write: readable means they hung up (or misbehave)."""
        sock = self._sock
        try:
            sock.setblocking(False)
            try:
                return sock.recv(1) == b""
            finally:
                sock.settimeout(self.timeout)
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        except OSError:
            return True

    def send(self, app: str, lines: list[tuple[str, LogLine]]) -> None:
        data = b"".join(octet_frame(syslog_message(app, line)) for _, line in lines)
        try:
            if self._sock is not None and self._peer_closed():
                self.close()
            if self._sock is None:
                self._sock = self._connect()
            self._sock.sendall(data)
        except (OSError, ssl.SSLError) as e:
            self.close()
            raise DeliveryError(f"{self.host}:{self.port}: {e}") from e

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None


class HTTPSender:
    """POST batches like Heroku's HTTPS drains (``application/logplex-1``)."""

    def __init__(self, url: str, *, token: str, policy: outbound.Policy,
                 timeout: float = 10.0) -> None:
        self.url, self.token = url, token
        self.client = policy.http_client(timeout=timeout, what="drain host")

    def send(self, app: str, lines: list[tuple[str, LogLine]]) -> None:
        body = logplex_body(syslog_message(app, line) for _, line in lines)
        frame_id = hashlib.sha1(f"{lines[0][0]}-{lines[-1][0]}".encode()).hexdigest()
        headers = {
            "Content-Type": "application/logplex-1",
            "Logplex-Msg-Count": str(len(lines)),
            "Logplex-Frame-Id": frame_id,  # the same on a retry, so receivers can dedupe
            "Logplex-Drain-Token": self.token,
            "User-Agent": "pier-logs",
        }
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise DeliveryError(f"{redact(self.url)}: {e}") from e
        status = response.status_code
        if status < 300:
            return
        if status in (408, 429) or status >= 500:
            raise DeliveryError(f"{redact(self.url)} answered {status}")
        raise Rejected(f"{redact(self.url)} answered {status}")

    def close(self) -> None:
        self.client.close()


def make_sender(url: str, *, token: str, policy: outbound.Policy,
                ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0):
    """Return the sender for a validated drain URL."""
    parts = urlsplit(url)
    if parts.scheme.startswith("syslog"):
        return SyslogSender(parts.hostname, parts.port, policy=policy,
                            tls=parts.scheme == "syslog+tls", ssl_context=ssl_context,
                            timeout=timeout)
    return HTTPSender(url, token=token, policy=policy, timeout=timeout)


# -- delivery -------------------------------------------------------------------------


def positions_forget(client, app: str) -> None:
    """Drop the saved positions of every drain of app id ``app`` (the app was destroyed)."""
    fields = [field for field, _ in client.hscan_iter(POSITIONS_KEY, match=f"{app}:*")]
    if fields:
        client.hdel(POSITIONS_KEY, *fields)



class Drain(threading.Thread):
    """Deliver one app's stream to one drain URL until stopped.

    ``policy`` says where it may connect (by default public addresses only).
    """

    def __init__(self, redis_client, app: str, url: str, *, sender=None, batch: int = 500,
                 limit: int = 10_000, backoff: float = 0.5, max_backoff: float = 30.0,
                 block: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 ssl_context: ssl.SSLContext | None = None,
                 policy: outbound.Policy | None = None) -> None:
        super().__init__(name=f"drain-{app}", daemon=True)
        self.redis, self.app, self.url = redis_client, app, url
        digest = hashlib.sha256(f"{app} {url}".encode()).hexdigest()
        self.field = f"{app}:{digest[:16]}"
        self.token = f"d.{digest[16:48]}"
        self.sender = sender or make_sender(url, token=self.token, ssl_context=ssl_context,
                                            policy=policy or outbound.Policy())
        self.batch, self.limit, self.block, self.clock = batch, limit, block, clock
        self.backoff, self.max_backoff = backoff, max_backoff
        self.stop_event = threading.Event()
        self.buffer: deque[tuple[str, LogLine]] = deque()
        self.read_position: str | None = None
        self.dropped = 0  # not yet reported
        self.dropped_total = 0
        self.delivered_total = 0
        self._delay = 0.0
        self._retry_at = 0.0
        self._failing = False

    def _start_position(self) -> str:
        saved = self.redis.hget(POSITIONS_KEY, self.field)
        if saved:
            saved = applog.text(saved)
            oldest = self.redis.xrange(applog.stream_key(self.app), count=1)
            if oldest and applog.id_after(applog.text(oldest[0][0]), saved):
                # Nothing read the stream for this drain meanwhile (the runtime was down)
                # and its cap trimmed lines past where delivery stopped.
                applog.append(self.redis, self.app, source="pier", dyno="logs",
                              message=f"Lines were lost for drain {redact(self.url)}: the "
                                      "log buffer was trimmed before they were delivered")
            return saved
        # A new drain gets the lines from now on, as on Heroku.
        last = self.redis.xrevrange(applog.stream_key(self.app), count=1)
        position = applog.text(last[0][0]) if last else "0-0"
        self.redis.hset(POSITIONS_KEY, self.field, position)
        return position

    def step(self) -> None:
        """Read what is new (waiting a little when there is nothing to do), then send."""
        if self.read_position is None:
            self.read_position = self._start_position()
        self._read(self._wait_seconds())
        if self.buffer and self.clock() >= self._retry_at:
            self._send()

    def _wait_seconds(self) -> float:
        if not self.buffer:
            return self.block
        return min(self.block, max(0.0, self._retry_at - self.clock()))

    def _read(self, wait: float) -> None:
        block = int(wait * 1000) or None  # BLOCK 0 would mean forever
        found = self.redis.xread({applog.stream_key(self.app): self.read_position},
                                 count=self.batch * 2, block=block)
        for _, entries in found or []:
            for entry_id, fields in entries:
                self.read_position = applog.text(entry_id)
                self.buffer.append((self.read_position, LogLine.from_entry(entry_id, fields)))
        while len(self.buffer) > self.limit:
            self.buffer.popleft()
            self.dropped += 1
            self.dropped_total += 1

    def _send(self) -> None:
        lines = [self.buffer[i] for i in range(min(self.batch, len(self.buffer)))]
        try:
            self.sender.send(self.app, lines)
        except DeliveryError as e:
            self._delay = min(self.max_backoff, self._delay * 2 or self.backoff)
            self._retry_at = self.clock() + self._delay
            if not self._failing:
                logger.warning("drain %s of %s failing, retrying: %s", redact(self.url),
                               self.app, e)
            self._failing = True
            return
        except outbound.Refused as e:
            self._refused(e)
            return
        except Rejected as e:
            logger.warning("drain %s of %s refused %d lines: %s", redact(self.url), self.app,
                           len(lines), e)
            self.dropped += len(lines)
            self.dropped_total += len(lines)
        else:
            self.delivered_total += len(lines)
        for _ in lines:
            self.buffer.popleft()
        self._delay, self._retry_at, self._failing = 0.0, 0.0, False
        self.redis.hset(POSITIONS_KEY, self.field, lines[-1][0])
        if self.dropped:
            self._report_drops()

    def _refused(self, error: outbound.Refused) -> None:
        """Stop for good: the host is not public (now). Nothing was sent."""
        logger.warning("drain %s of %s stopped: %s", redact(self.url), self.app, error)
        applog.append(self.redis, self.app, source="pier", dyno="logs",
                      message=f"Drain {redact(self.url)} stopped, nothing sent: {error}. "
                              "Remove it (pier drains:remove) and add one at a public "
                              "address")
        self.stop_event.set()

    def _report_drops(self) -> None:
        applog.append(self.redis, self.app, source="pier", dyno="logs",
                      message=f"{self.dropped} lines dropped for drain {redact(self.url)}: "
                              "it was unreachable or too slow")
        self.dropped = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.step()
            except redis.RedisError as e:
                logger.warning("drain %s of %s: log store unavailable: %s",
                               redact(self.url), self.app, e)
                self.stop_event.wait(1.0)
            except Exception:
                logger.exception("drain %s of %s failed", redact(self.url), self.app)
                self.stop_event.wait(1.0)
        self.sender.close()

    def stop(self) -> None:
        self.stop_event.set()


class DrainManager:
    """Keep one running :class:`Drain` per (app, URL) that ``drains_source()`` lists."""

    def __init__(self, redis_client, drains_source: DrainsSource, *, refresh: float = 10.0,
                 **drain_options) -> None:
        self.redis, self.drains_source, self.refresh = redis_client, drains_source, refresh
        self.drain_options = drain_options
        self.drains: dict[tuple[str, str], Drain] = {}
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def sync(self) -> None:
        """Start drains that appeared, stop those that went away."""
        wanted = set()
        for app, urls in (self.drains_source() or {}).items():
            for url in urls:
                try:
                    wanted.add((app, validate_drain_url(url)))
                except ValueError as e:
                    logger.warning("skipping a drain of %s: %s", app, e)
        for key in set(self.drains) - wanted:
            self.drains.pop(key).stop()
        for app, url in wanted - set(self.drains):
            drain = Drain(self.redis, app, url, **self.drain_options)
            self.drains[(app, url)] = drain
            drain.start()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.sync()
            except Exception:
                logger.exception("could not read the drains")
            self.stop_event.wait(self.refresh)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="drains", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        for drain in self.drains.values():
            drain.stop()
        for drain in self.drains.values():
            drain.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
