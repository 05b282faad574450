"""What every ``cwroles`` command module shares: the consoles, the error exit, list options."""

from __future__ import annotations

from typing import NoReturn, Optional

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit (2 = bad input, as click does for usage errors)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def split_csv(values: Optional[list[str]]) -> list[str]:
    """``-f a,b -f c`` → ``[a, b, c]``: repeatable options that also take comma-separated values."""
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out
