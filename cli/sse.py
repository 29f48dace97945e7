"""Read a stream of server-sent events (text/event-stream) and newline-delimited lines.

Just what `pier logs --tail` needs: `data`, `id` and `event` fields, comments ignored.
Lines end at "\n" only (a stray "\r" inside a log message must not split it).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    data: str
    id: str | None = None  # the last event id seen so far, as the spec's "last event ID"
    event: str = "message"


def lines(chunks: Iterable[str]) -> Iterator[str]:
    """Split text chunks into lines without their "\n" (and a "\r" before it).

    A last line without a newline is yielded too: a stream that drops mid-line is the
    caller's to judge (SSE drops such a half event anyway).
    """
    buffer = ""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split("\n")
        for line in complete:
            yield line.removesuffix("\r")
    if buffer:
        yield buffer.removesuffix("\r")


class EventParser:
    """Feed it lines one by one; it returns each event when the blank line ending it comes."""

    def __init__(self, last_id: str | None = None):
        self.last_id = last_id
        self._data: list[str] = []
        self._kind = ""

    def feed(self, line: str) -> Event | None:
        if not line:
            event = None
            if self._data:
                event = Event("\n".join(self._data), self.last_id, self._kind or "message")
            self._data, self._kind = [], ""
            return event
        if line.startswith(":"):
            return None  # a comment, such as the server's keep-alive
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self.last_id = value
        elif field == "event":
            self._kind = value
        return None


def events(stream_lines: Iterable[str], last_id: str | None = None) -> Iterator[Event]:
    """Yield the events in stream_lines; an event is complete only at its blank line."""
    parser = EventParser(last_id)
    for line in stream_lines:
        event = parser.feed(line)
        if event is not None:
            yield event
