"""Docker's log stream, byte by byte: HTTP chunks, multiplexed frames, whole lines.

Pure functions and one small class, no I/O of their own: :mod:`runtime.logship.follower`
feeds them what it reads from the engine.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from runtime import applog

HEADER = struct.Struct(">BxxxL")


def docker_since(raw: str) -> str:
    """Return Docker's ``since`` parameter (``seconds.nanoseconds``) for a log timestamp."""
    date, _, fraction = raw.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp())
    return f"{seconds}.{(fraction + '000000000')[:9]}"


def iter_frames(chunks: Iterable[bytes]) -> Iterator[list[tuple[int, bytes]]]:
    """Yield the complete ``(stream, payload)`` frames of Docker's multiplexed stream that
    each chunk brings (stream 1 is stdout, 2 stderr)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        frames, start, size = [], 0, len(buffer)
        while size - start >= 8:
            stream, length = HEADER.unpack_from(buffer, start)
            end = start + 8 + length
            if end > size:
                break
            frames.append((stream, bytes(buffer[start + 8 : end])))
            start = end
        del buffer[:start]
        if frames:
            yield frames


def dechunk(reads: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the data of an HTTP/1.1 chunked body, as much as each read brings."""
    buffer, remaining, skip = bytearray(), 0, 0
    for data in reads:
        buffer += data
        pieces, pos, end = [], 0, len(buffer)
        while pos < end:
            if remaining:
                n = min(remaining, end - pos)
                pieces.append(bytes(buffer[pos : pos + n]))
                pos, remaining = pos + n, remaining - n
                skip = 0 if remaining else 2  # the CRLF after the chunk's data
            elif skip:
                n = min(skip, end - pos)
                pos, skip = pos + n, skip - n
            else:
                eol = buffer.find(b"\r\n", pos)
                if eol < 0:
                    break
                remaining = int(bytes(buffer[pos:eol]).split(b";")[0], 16)
                pos = eol + 2
                if remaining == 0:
                    if pieces:
                        yield b"".join(pieces)
                    return
        del buffer[:pos]
        if pieces:
            yield b"".join(pieces)


def body_chunks(response) -> Iterator[bytes]:
    """Yield a streaming requests response's body as it arrives.

    Docker sends each log line as its own HTTP chunk; decoding them with urllib3 costs
    more than everything else here, so chunked bodies are read in large pieces from the
    connection and decoded by :func:`dechunk`. urllib3 has no public way to the
    connection: this reaches for ``response.raw._fp`` (the ``http.client`` response,
    what docker-py reaches for too) and falls back to ``iter_content`` when it is not
    there, so an urllib3 that moves it costs speed, never lines.
    """
    conn = getattr(response.raw, "_fp", None)
    reader = getattr(conn, "fp", None)
    if not getattr(conn, "chunked", False) or not hasattr(reader, "read1"):
        yield from response.iter_content(None)
        return
    yield from dechunk(iter(lambda: reader.read1(1 << 16), b""))


class LineJoiner:
    """Join Docker's partial-line pieces of one stream into whole lines.

    Text is decoded incrementally (a piece may end inside a character), bad bytes become
    U+FFFD, and a line longer than ``applog.MAX_LINE_CHARS`` leaves in pieces of that size
    as soon as they are complete, so a line without end never fills memory.
    """

    def __init__(self, limit: int = applog.MAX_LINE_CHARS) -> None:
        self.limit = limit
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self._ts: str | None = None
        self._split = False  # part of the pending line already left

    def feed(self, data: bytes, ts: str) -> list[tuple[str, str]]:
        """Return the ``(first piece's timestamp, text)`` lines that ``data`` completes."""
        if (self._ts is None and len(data) <= self.limit and data.endswith(b"\n")
                and data.count(b"\n") == 1):  # the usual case: one whole, short line
            return [(ts, data[:-1].decode("utf-8", "replace").removesuffix("\r"))]
        if self._ts is None:
            self._ts = ts
        *complete, rest = (self._pending + self._decoder.decode(data)).split("\n")
        out: list[tuple[str, str]] = []
        for line in complete:
            line = line.removesuffix("\r")
            pieces = [line[i : i + self.limit] for i in range(0, len(line), self.limit)]
            if pieces or not self._split:  # not the empty end of a line already cut
                out.extend((self._ts, piece) for piece in pieces or [""])
            self._ts, self._split = ts, False
        while len(rest) > self.limit:
            out.append((self._ts, rest[: self.limit]))
            rest, self._split = rest[self.limit :], True
        self._pending = rest
        if not rest and not self._split and not self._decoder.getstate()[0]:
            self._ts = None
        return out
