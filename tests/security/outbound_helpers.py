"""Helpers of tests/security/test_outbound.py and test_log_lines.py (a unique module name:
tests are not packages)."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid

from runtime import applog
from runtime.drains import POSITIONS_KEY


class Listener:
    """A real TCP socket on 127.0.0.1 (a syslog drain, or the platform's Redis an attacker
    aims at): counts connections and keeps every byte received."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self.data = b""
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                while chunk := conn.recv(65536):
                    self.data += chunk

    def messages(self) -> list[bytes]:
        """Split the octet-counted syslog frames (RFC 6587) received so far."""
        messages, data = [], self.data
        while data:
            length, _, rest = data.partition(b" ")
            messages.append(rest[: int(length)])
            data = rest[int(length) :]
        return messages

    def close(self):
        self.server.close()


@contextlib.contextmanager
def fresh_app(redis_client, app_id: str = ""):
    """Give a fresh app id (or app_id); its log stream and drain positions go afterwards."""
    name = app_id or str(uuid.uuid4())
    yield name
    redis_client.delete(applog.stream_key(name))
    for field in redis_client.hkeys(POSITIONS_KEY):
        if field.startswith(f"{name}:"):
            redis_client.hdel(POSITIONS_KEY, field)
