"""Printing helpers: rich tables, request breakdowns, medians."""

from __future__ import annotations

import re
import statistics
import sys
from collections import Counter
from typing import Iterable, Mapping

from rich.console import Console
from rich.table import Table

# Wide enough for the breakdown columns when the output is piped (rich falls back to 80 columns).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)

_IDENT = re.compile(r"^(\S+ /system/members)/(?!\{id\})[^/]+(/tokens)$")


def endpoints(metrics: Mapping) -> Counter:
    """The emulator's byEndpoint counter, with member identifiers folded into {identifier}."""
    out: Counter = Counter()
    for key, n in (metrics.get("byEndpoint") or {}).items():
        out[_IDENT.sub(r"\1/{identifier}\2", key)] += n
    return out


def breakdown(c: Counter) -> str:
    """'2× GET /system/securityroles/{id}, 1× POST …' in a stable order (path, then method)."""
    items = sorted(c.items(), key=lambda kv: (kv[0].split(" ", 1)[1], kv[0]))
    return "\n".join(f"{n}× {k}" for k, n in items) or "—"


def median(xs: Iterable[float]) -> float:
    xs = list(xs)
    return statistics.median(xs) if xs else float("nan")


def fmt_s(xs: list[float]) -> str:
    if not xs:
        return "—"
    if len(xs) == 1:
        return f"{xs[0]:.2f}"
    return f"{median(xs):.2f}"


def spread(xs: list[float]) -> str:
    return f"{min(xs):.2f}–{max(xs):.2f}" if len(xs) > 1 else "—"


def table(title: str, *columns: str, caption: str | None = None, right: tuple[str, ...] = ()) -> Table:
    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left", show_lines=True)
    for c in columns:
        numeric = c in right or c in {"n", "calls", "count", "resources"} or c.endswith(
            ("(s)", "/s", "%", "requests", "bytes"))
        justify = "right" if numeric else "left"
        t.add_column(c, justify=justify, overflow="fold")
    return t


def section(title: str) -> None:
    console.print()
    console.rule(f"[bold cyan]{title}")
