"""What the CLI prints: rich tables on a terminal, plain aligned text otherwise, raw JSON on
request. Everything goes through click.echo, so tests capture it with CliRunner."""

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from runtime.applog import escape_controls


class Output:
    def __init__(self, *, tty: bool | None = None):
        self.tty = sys.stdout.isatty() if tty is None else tty

    def json(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))

    def line(self, text: str = "") -> None:
        click.echo(text)

    def success(self, text: str) -> None:
        click.echo(click.style(text, fg="green") if self.tty else text, color=self.tty)

    def note(self, text: str) -> None:
        """Print a remark for humans on stderr, so stdout stays clean for pipes."""
        click.echo(click.style(text, dim=True) if self.tty else text, err=True, color=self.tty)

    def heading(self, text: str) -> None:
        click.echo(
            click.style(f"=== {text}", bold=True) if self.tty else f"=== {text}", color=self.tty
        )

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[_cell(value) for value in row] for row in rows]
        if self.tty:
            table = Table(box=None, header_style="bold", pad_edge=False)
            for header in headers:
                table.add_column(header.upper(), overflow="fold")
            for row in cells:
                table.add_row(*(Text(value) for value in row))
            self._rich(table)
        else:
            for line in plain_table([h.upper() for h in headers], cells):
                click.echo(line)

    def listing(self, rows: list[dict], *, as_json: bool, empty: str | None,
                headers: Sequence[str], row: Callable[[dict], Sequence[Any]]) -> None:
        """Print a list command's rows: raw JSON, a note saying ``empty``, or a table."""
        if as_json:
            self.json(rows)
        elif not rows and empty is not None:
            self.note(empty)
        else:
            self.table(headers, [row(r) for r in rows])

    def pairs(self, items: Sequence[tuple[str, Any]]) -> None:
        """Print `key: value` lines with the values aligned; later lines of a value indented."""
        if not items:
            return
        width = max(len(key) for key, _ in items) + 2
        for key, value in items:
            label = f"{key}:".ljust(width)
            text = _cell(value).replace("\n", "\n" + " " * width)
            if self.tty:
                click.echo(click.style(label, fg="green") + text, color=True)
            else:
                click.echo(label + text)

    def _rich(self, renderable) -> None:
        console = Console(file=sys.stdout, force_terminal=True, highlight=False, soft_wrap=False)
        console.print(renderable)


def log_text(text: str) -> str:
    """Return log output safe for a terminal: its lines with control characters (ESC, CR,
    ...) escaped, as Pier now writes them, for lines stored before it did."""
    return "\n".join(escape_controls(line) for line in text.split("\n"))


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Return the lines of a table aligned with spaces, for pipes and files."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = []
    for row in [list(headers), *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def format_time(value: str | None) -> str:
    """Return an API timestamp as local `YYYY-MM-DD HH:MM:SS`, or '' for none."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def format_version(release: dict | None) -> str:
    return f"v{release['version']}" if release and release.get("version") is not None else ""
