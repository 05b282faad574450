"""Problems as data: what is wrong, where (file, line, field or config key) and how to fix it.

Every parser in the core reports into a list of :class:`Problem` instead of raising, so a caller
shows all of them at once (a manifest, a stack file, a resource's inputs) and decides itself what
stops the run. :class:`Where` carries the location while a parser walks a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Literal, Mapping, Optional, Union

Severity = Literal["error", "notice"]
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PathPart = Union[str, int]


@dataclass(frozen=True)
class Problem:
    message: str  # what is wrong, in the admin's words
    fix: str = ""  # what to do next
    file: Optional[str] = None
    line: Optional[int] = None  # 1-based
    field: Optional[str] = None  # "grants[3].function", "cwroles:extraGrants[0].add"
    severity: Severity = "error"
    label: str = ""  # what the field names, e.g. "Finance › Invoicing"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def location(self) -> str:
        """``integrations/acme.yaml:12 grants[3].function (Finance › Invoicing)``: the parts that are known."""
        head = self.file or ""
        if head and self.line:
            head += f":{self.line}"
        parts = [p for p in (head, self.field) if p]
        text = " ".join(parts)
        if self.label:
            text = f"{text} ({self.label})" if text else self.label
        return text

    def text(self) -> str:
        """The message and its fix, without the location."""
        return f"{self.message}; {self.fix}" if self.fix else self.message

    def __str__(self) -> str:
        loc = self.location
        return f"{loc}: {self.text()}" if loc else self.text()


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def notices(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.is_error]


def summary(problems: Iterable[Problem], sep: str = "\n") -> str:
    return sep.join(str(p) for p in problems)


class LineIndex:
    """Line numbers of the nodes of a YAML document, by field path (``("grants", 3, "function")``)."""

    def __init__(self, lines: Mapping[tuple[PathPart, ...], int] | None = None) -> None:
        self._lines = dict(lines or {})

    @classmethod
    def from_yaml(cls, text: str) -> "LineIndex":
        import yaml

        try:
            root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            return cls()
        lines: dict[tuple[PathPart, ...], int] = {}

        def walk(node, path: tuple[PathPart, ...]) -> None:
            lines.setdefault(path, node.start_mark.line + 1)
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    key = k.value if isinstance(k, yaml.ScalarNode) else str(k.start_mark.line)
                    lines[(*path, key)] = k.start_mark.line + 1  # the key's line, not its value's
                    walk(v, (*path, key))
            elif isinstance(node, yaml.SequenceNode):
                for i, v in enumerate(node.value):
                    walk(v, (*path, i))

        if root is not None:
            walk(root, ())
        return cls(lines)

    def line(self, path: tuple[PathPart, ...]) -> Optional[int]:
        """The line of ``path``, or of its closest parent the document has."""
        for n in range(len(path), -1, -1):
            if path[:n] in self._lines:
                return self._lines[path[:n]]
        return None


@dataclass(frozen=True)
class Where:
    """A position in a document while parsing it: file, the path to the field, and the document's lines."""

    file: Optional[str] = None
    path: tuple[PathPart, ...] = ()
    prefix: str = ""  # shown before the path, e.g. "cwroles:" for stack config keys
    lines: Optional[LineIndex] = None
    label: str = ""
    offset: tuple[PathPart, ...] = ()  # path of this document inside the indexed file

    def key(self, name: str) -> "Where":
        return Where(self.file, (*self.path, name), self.prefix, self.lines, self.label, self.offset)

    def index(self, i: int) -> "Where":
        return Where(self.file, (*self.path, i), self.prefix, self.lines, self.label, self.offset)

    def labelled(self, label: str) -> "Where":
        return Where(self.file, self.path, self.prefix, self.lines, label, self.offset)

    @property
    def field(self) -> str:
        out = self.prefix
        for p in self.path:
            if isinstance(p, int):
                out += f"[{p}]"
            elif not _PLAIN_KEY.match(p):
                out += f"[{p!r}]"  # a key like "System › Table Setup"
            elif out and not out.endswith(":"):
                out += f".{p}"
            else:
                out += p
        return out

    @property
    def line(self) -> Optional[int]:
        if not self.lines:
            return None
        path = self.path
        if self.prefix and path and isinstance(path[0], str):  # stack files key config as "cwroles:extraGrants"
            path = (self.prefix + path[0], *path[1:])
        return self.lines.line((*self.offset, *path))

    def problem(self, message: str, fix: str = "", severity: Severity = "error") -> Problem:
        return Problem(message, fix, self.file, self.line, self.field or None, severity, self.label)

    def notice(self, message: str, fix: str = "") -> Problem:
        return self.problem(message, fix, "notice")


__all__ = ["Problem", "Severity", "LineIndex", "Where", "errors", "notices", "summary"]
