"""What every ``cwroles`` command module shares: the consoles, the error exit, list options."""

from __future__ import annotations

from typing import NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err = Console(stderr=True)


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
