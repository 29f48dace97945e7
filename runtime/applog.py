"""An app's log stream: one capped Redis stream per app, lines in Heroku's format.

The runtime writes app, router and platform lines here; the control plane reads them.
Kept free of Django so that both sides share one definition of the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

SOURCES = ("app", "router", "pier")
DEFAULT_MAXLEN = 10_000
# Longer lines are split, not dropped: one huge line must not blow up a tail or a drain.
MAX_LINE_CHARS = 10_000
# C0 but tab, DEL and C1: a raw newline or CR would start a forged line in SSE, syslog and
# terminals, and ESC would drive the terminal of whoever reads the log.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def id_after(a: str, b: str) -> bool:
    """Whether stream id ``a`` comes after ``b``."""
    ams, _, aseq = a.partition("-")
    bms, _, bseq = b.partition("-")
    return (int(ams), int(aseq or 0)) > (int(bms), int(bseq or 0))


def stream_key(app_id: str) -> str:
    """Return the key of an app's stream: by its id, never its name, so that the stream
    follows a rename and nobody who takes a destroyed app's name can read its lines."""
    return f"pier:logs:{app_id}"


@dataclass(frozen=True)
class LogLine:
    id: str
    timestamp: str
    source: str
    dyno: str
    message: str

    def format(self) -> str:
        """Return the line as Heroku prints it: `<ts> app[web.1]: message`."""
        return f"{self.timestamp} {self.source}[{self.dyno}]: {self.message}"

    @classmethod
    def from_entry(cls, entry_id, fields: dict) -> LogLine:
        get = {text(k): text(v) for k, v in fields.items()}
        return cls(
            id=text(entry_id),
            timestamp=get.get("ts", ""),
            source=get.get("source", "app"),
            dyno=get.get("dyno", ""),
            message=get.get("line", ""),
        )


def text(value) -> str:
    """Return a Redis reply (bytes unless the client decodes) as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def now_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def utc_timestamp(rfc3339: str) -> str:
    """Turn an engine's ``2026-11-28T01:02:03.123456789Z`` into ``...03.123456+00:00``.

    The line format has microseconds; Docker gives nanoseconds, or fewer digits, or none.
    """
    date, _, fraction = rfc3339.rstrip("Z").partition(".")
    return f"{date}.{(fraction + '000000')[:6]}+00:00"


def _escape(match: re.Match) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def escape_controls(text: str) -> str:
    """Return text as one line: control characters but tab shown as ``\\n``, ``\\r``,
    ``\\x1b``... (every log line passes here before it is written or printed)."""
    return _CONTROL.sub(_escape, text)


def split_message(message: str | bytes) -> list[str]:
    """Return message as valid one-line text (controls escaped) in pieces of at most
    MAX_LINE_CHARS (never none)."""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    message = escape_controls(message.rstrip("\r\n"))
    pieces = [message[i : i + MAX_LINE_CHARS] for i in range(0, len(message), MAX_LINE_CHARS)]
    return pieces or [""]


def append(
    client,
    app: str,
    *,
    source: str,
    dyno: str,
    message: str | bytes,
    timestamp: str | None = None,
    maxlen: int = DEFAULT_MAXLEN,
    pipeline=None,
) -> None:
    """Append one line (split when too long) to app's stream, capped at about maxlen lines."""
    target = pipeline if pipeline is not None else client
    ts = timestamp or now_timestamp()
    for piece in split_message(message):
        target.xadd(
            stream_key(app),
            {"ts": ts, "source": source, "dyno": dyno, "line": piece},
            maxlen=maxlen,
            approximate=True,
        )
