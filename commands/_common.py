"""What every ``cwroles`` command module shares: the consoles, the error exit, list options."""

from __future__ import annotations

import os
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

PIPED_WIDTH = 200  # columns of output that is not a terminal: a CI log, a file, a ticket


class _Console(Console):
    """rich's Console reads COLUMNS once, when it is made (here: at import), so the width of a command's
    output depended on what ran first. This one reads it at each print; output that is not a terminal is
    PIPED_WIDTH wide instead of rich's 80, so role, function and integration names are not cut."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._width = self._height = None  # never the COLUMNS of import time

    @property
    def size(self) -> ConsoleDimensions:
        live = Console.size.fget(self)  # type: ignore[attr-defined]
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() else live.width if self.is_terminal else PIPED_WIDTH
        return ConsoleDimensions(width, live.height)


console = _Console()
err = _Console(stderr=True)


def group(help: str) -> typer.Typer:
    """A command group (``cwroles <group> <command>``) with the CLI's common settings.

    ``rich_markup_mode=None``: plain click-style help, where a boolean option is shown as a flag
    (typer's rich help labels flags ``<bool>``, which invites ``--flag true``).
    """
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False)


def print_commands(commands: list[str], title: str = "Next:") -> None:
    """Commands to copy and paste: one per line, indented, never wrapped by the console."""
    console.print(title, highlight=False)
    for command in commands:
        console.print(f"  {command}", highlight=False, markup=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit (2 = bad input, as click does for usage errors)."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def split_csv(values: Optional[list[str]]) -> list[str]:
    """``-f a,b -f c`` → ``[a, b, c]``: repeatable options that also take comma-separated values."""
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out
