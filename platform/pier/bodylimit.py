"""Request body limits, enforced while the body arrives, before Django spools any of it.

Django's ASGI handler reads a whole request body into a temporary file before any view or
middleware runs, so a limit must sit in front of it: here, counting the bytes as they come.
API and dashboard requests get a 413 with a JSON error; a `git push` past PIER_MAX_PUSH_MB
gets an answer in git's own protocol, which the git client shows its user.
"""

import json
import re

from django.conf import settings

GIT_PATH = re.compile(r"^/[^/]+\.git/git-(receive|upload)-pack$")
SIDE_BAND = b"side-band-64k"
ERROR_BAND = b"\x03"  # side-band channel 3: a fatal error, printed by the client


def with_body_limit(inner):
    """Wrap an ASGI application: refuse HTTP request bodies larger than the settings allow."""

    async def application(scope, receive, send):
        if scope["type"] != "http":
            return await inner(scope, receive, send)
        git = bool(GIT_PATH.match(scope["path"]))
        limit = settings.PIER_MAX_PUSH_MB * 2**20 if git else settings.PIER_MAX_REQUEST_KB * 1024
        refusal = _GitRefusal(limit) if git else _JsonRefusal(limit)
        if _content_length(scope) > limit:
            return await refusal.send(receive, send, more_body=True)
        await inner(scope, _counting(receive, send, limit, refusal), send)

    return application


def _content_length(scope) -> int:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0  # chunked: counted as it arrives


def _counting(receive, send, limit: int, refusal):
    """Return a receive() that refuses the request once more than limit bytes came in."""
    received, refused = 0, False

    async def limited():
        nonlocal received, refused
        if refused:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            refusal.seen(message.get("body", b""))
            received += len(message.get("body", b""))
            if received > limit:
                refused = True
                await refusal.send(receive, send, more_body=message.get("more_body", False))
                # Django stops reading at a disconnect and sends nothing more.
                return {"type": "http.disconnect"}
        return message

    return limited


class _JsonRefusal:
    def __init__(self, limit: int):
        self.limit = limit

    def seen(self, chunk: bytes) -> None:
        pass

    async def send(self, receive, send, more_body: bool) -> None:
        body = json.dumps({
            "id": "payload_too_large",
            "message": f"the request body is larger than the {self.limit // 1024} kB this API "
                       "accepts (PIER_MAX_REQUEST_KB): send less",
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _GitRefusal:
    """Refuse a push in git's protocol: the client prints the message and fails the push."""

    def __init__(self, limit: int):
        self.limit, self.first = limit, b""

    def seen(self, chunk: bytes) -> None:
        if len(self.first) < 1024:
            self.first += chunk[: 1024 - len(self.first)]

    async def send(self, receive, send, more_body: bool) -> None:
        # git reads the answer only once it has sent its whole pack: read the rest, keep none.
        while more_body:
            message = await receive()
            self.seen(message.get("body", b""))
            more_body = message["type"] == "http.request" and message.get("more_body", False)
        message = (
            f"this push is larger than the {self.limit // 2**20} MB a push may be here "
            "(PIER_MAX_PUSH_MB): remove large files from the history (git filter-repo), "
            "or keep them outside the repository"
        ).encode()
        # The request's first line lists the client's capabilities (after a NUL byte).
        packet = ERROR_BAND + message if SIDE_BAND in self.first else b"ERR " + message
        body = _pkt_line(packet) + b"0000"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/x-git-receive-pack-result"),
                                (b"cache-control", b"no-cache"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _pkt_line(data: bytes) -> bytes:
    return f"{len(data) + 4:04x}".encode() + data

