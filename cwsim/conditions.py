"""ConnectWise ``conditions`` / ``orderBy`` / ``fields`` query language.

A small tokenizer and recursive-descent parser. Grammar (case-insensitive keywords)::

    expr     := or_expr
    or_expr  := and_expr ( OR and_expr )*
    and_expr := unary ( AND unary )*
    unary    := NOT unary | primary
    primary  := '(' expr ')' | comparison
    comparison := FIELD op value
                | FIELD [NOT] LIKE value
                | FIELD [NOT] CONTAINS value
                | FIELD [NOT] IN '(' value (',' value)* ')'
    op       := = | != | <> | < | <= | > | >=
    value    := STRING ("..." or '...') | NUMBER | true | false | null | [DATE]
    FIELD    := name ( '/' name )*          e.g. securityRole/name

Evaluation works on the API representation of a record (the JSON dict the endpoint returns),
so every field a client can see can be filtered, the way ConnectWise filters on its model.
String comparisons are case-insensitive (ConnectWise's SQL Server collation is).
Errors raise :class:`ConditionError` with a message that says where the problem is.

Hostile input is bad input, never a crash: parentheses and ``not`` nest at most :data:`MAX_NESTING`
levels (deeper is a ConditionError, so a 400), and long ``and``/``or`` chains are evaluated without
recursion.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional


class ConditionError(ValueError):
    """A malformed conditions / orderBy / fields string (answered with 400)."""


MAX_NESTING = 100  # parentheses plus 'not' around one comparison; real queries use a handful


# ---------------------------------------------------------------------------------------------
# tokens

@dataclass(frozen=True)
class Token:
    kind: str  # FIELD, STRING, NUMBER, DATE, BOOL, NULL, OP, KW, LPAREN, RPAREN, COMMA, EOF
    value: Any
    pos: int


KEYWORDS = {"and", "or", "not", "like", "contains", "in"}
_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*")
_NUM_RE = re.compile(r"-?\d+(?:\.\d+)?")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "(":
            tokens.append(Token("LPAREN", c, i)); i += 1; continue
        if c == ")":
            tokens.append(Token("RPAREN", c, i)); i += 1; continue
        if c == ",":
            tokens.append(Token("COMMA", c, i)); i += 1; continue
        if c in "\"'":
            j = i + 1
            buf = []
            while True:
                if j >= n:
                    raise ConditionError(f"unterminated string starting at position {i + 1}")
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:  # doubled quote = literal quote
                        buf.append(c); j += 2; continue
                    break
                if text[j] == "\\" and j + 1 < n and text[j + 1] in "\"'\\":
                    buf.append(text[j + 1]); j += 2; continue
                buf.append(text[j]); j += 1
            tokens.append(Token("STRING", "".join(buf), i))
            i = j + 1
            continue
        if c == "[":
            j = text.find("]", i)
            if j < 0:
                raise ConditionError(f"unterminated date starting at position {i + 1}; close it with ]")
            raw = text[i + 1:j].strip()
            tokens.append(Token("DATE", parse_date(raw, i), i))
            i = j + 1
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op:
            tokens.append(Token("OP", "!=" if op == "<>" else op, i)); i += len(op); continue
        m = _NUM_RE.match(text, i)
        if m and (c.isdigit() or c == "-"):
            s = m.group(0)
            tokens.append(Token("NUMBER", float(s) if "." in s else int(s), i)); i = m.end(); continue
        m = _NAME_RE.match(text, i)
        if m:
            word = m.group(0)
            low = word.lower()
            if low in KEYWORDS:
                tokens.append(Token("KW", low, i))
            elif low in ("true", "false"):
                tokens.append(Token("BOOL", low == "true", i))
            elif low == "null":
                tokens.append(Token("NULL", None, i))
            else:
                tokens.append(Token("FIELD", word, i))
            i = m.end()
            continue
        raise ConditionError(f"unexpected character {c!r} at position {i + 1}")
    tokens.append(Token("EOF", None, n))
    return tokens


def parse_date(raw: str, pos: int = 0) -> dt.datetime:
    s = raw.replace("Z", "+00:00")
    try:
        d = dt.datetime.fromisoformat(s)
    except ValueError:
        raise ConditionError(
            f"invalid date [{raw}] at position {pos + 1}; use ISO 8601 like [2025-01-31T00:00:00Z]"
        ) from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d


# ---------------------------------------------------------------------------------------------
# AST

@dataclass(frozen=True)
class Cmp:
    field: str
    op: str  # = != < <= > >= like contains in
    value: Any
    negate: bool = False


@dataclass(frozen=True)
class And:
    left: Any
    right: Any


@dataclass(frozen=True)
class Or:
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    expr: Any


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0

    def nest(self) -> None:
        """One more level of '(' or 'not' (the parser recurses on both): bounded, so never a RecursionError."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ConditionError(f"more than {MAX_NESTING} nested parentheses and 'not' at position "
                                 f"{self.tok.pos + 1}; simplify the expression")

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def is_kw(self, word: str) -> bool:
        return self.tok.kind == "KW" and self.tok.value == word

    def fail(self, expected: str) -> ConditionError:
        t = self.tok
        got = "end of conditions" if t.kind == "EOF" else repr(str(t.value) if t.kind != "STRING" else t.value)
        return ConditionError(f"expected {expected} at position {t.pos + 1}, found {got}")

    def parse(self):
        if self.tok.kind == "EOF":
            raise ConditionError("conditions is empty")
        node = self.or_expr()
        if self.tok.kind != "EOF":
            raise self.fail("and/or or the end of conditions")
        return node

    def or_expr(self):
        node = self.and_expr()
        while self.is_kw("or"):
            self.take()
            node = Or(node, self.and_expr())
        return node

    def and_expr(self):
        node = self.unary()
        while self.is_kw("and"):
            self.take()
            node = And(node, self.unary())
        return node

    def unary(self):
        if self.is_kw("not"):
            self.nest()
            self.take()
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self):
        if self.tok.kind == "LPAREN":
            self.nest()
            self.take()
            node = self.or_expr()
            if self.tok.kind != "RPAREN":
                raise self.fail("')'")
            self.take()
            self.depth -= 1
            return node
        if self.tok.kind != "FIELD":
            raise self.fail("a field name")
        field = self.take().value
        negate = False
        if self.is_kw("not"):
            self.take()
            negate = True
            if not (self.is_kw("like") or self.is_kw("contains") or self.is_kw("in")):
                raise self.fail("like, contains or in after 'not'")
        if self.tok.kind == "OP":
            op = self.take().value
            return Cmp(field, op, self.value())
        if self.is_kw("like") or self.is_kw("contains"):
            op = self.take().value
            v = self.value()
            if op == "like" and not isinstance(v, str):
                raise ConditionError(f"like needs a quoted pattern such as 'abc%' (field {field})")
            return Cmp(field, op, v, negate)
        if self.is_kw("in"):
            self.take()
            if self.tok.kind != "LPAREN":
                raise self.fail("'(' after in")
            self.take()
            values = [self.value()]
            while self.tok.kind == "COMMA":
                self.take()
                values.append(self.value())
            if self.tok.kind != "RPAREN":
                raise self.fail("',' or ')' in the in-list")
            self.take()
            return Cmp(field, "in", tuple(values), negate)
        raise self.fail(f"an operator after {field}")

    def value(self):
        t = self.tok
        if t.kind in ("STRING", "NUMBER", "DATE", "BOOL", "NULL"):
            self.take()
            return t.value
        raise self.fail("a value (quoted string, number, true/false, null or [date])")


def parse(text: str):
    """Parse a conditions string into an AST; raises ConditionError."""
    return _Parser(text).parse()


# ---------------------------------------------------------------------------------------------
# evaluation

_MISSING = object()


def lookup(record: Any, path: str, strict: bool = True) -> Any:
    """Value at ``a/b/c`` in a record; keys match case-insensitively."""
    cur = record
    for part in path.split("/"):
        if isinstance(cur, dict):
            key = _ci_key(cur, part)
            if key is None:
                if strict:
                    raise KeyError(path)
                return None
            cur = cur[key]
        elif cur is None:
            return None
        else:
            if strict:
                raise KeyError(path)
            return None
    return cur


def _ci_key(d: dict, name: str) -> Optional[str]:
    if name in d:
        return name
    low = name.lower()
    for k in d:
        if k.lower() == low:
            return k
    return None


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})?", v):
            try:
                return parse_date(v)
            except ConditionError:
                return v.lower()
        return v.lower()
    if isinstance(v, bool):
        return v
    return v


def _compare(left: Any, op: str, right: Any, field: str) -> bool:
    if right is None or left is None:
        if op == "=":
            return left is None and right is None
        if op == "!=":
            return not (left is None and right is None)
        return False
    if isinstance(left, bool) or isinstance(right, bool):
        if not (isinstance(left, bool) and isinstance(right, bool)):
            raise ConditionError(f"{field} is {type(left).__name__}; compare it with true or false")
    a, b = _norm(left), _norm(right)
    if isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
        if isinstance(a, dt.datetime):
            raise ConditionError(f"{field} is a date; compare it with [YYYY-MM-DDTHH:MM:SSZ]")
        a, b = str(a), str(b)
    elif isinstance(a, (int, float)) != isinstance(b, (int, float)):
        if isinstance(a, (int, float)) and not isinstance(a, bool):
            raise ConditionError(f"{field} is a number; compare it with a number")
        a, b = str(a), str(b)
    try:
        if op == "=":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
    except TypeError:
        raise ConditionError(f"cannot compare {field} with {right!r}") from None
    raise ConditionError(f"unknown operator {op}")


def _like(value: Any, pattern: str) -> bool:
    if value is None:
        return False
    rx = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(rx, str(value), re.IGNORECASE | re.DOTALL) is not None


def _chain(node: Any) -> list[Any]:
    """The operands of a left-deep chain ``a or b or c`` (the parser builds Or(Or(a, b), c)), left to right,
    found without recursion: a chain can be thousands of terms long."""
    kind = type(node)
    rights = []
    while isinstance(node, kind):
        rights.append(node.right)
        node = node.left
    return [node, *reversed(rights)]


def evaluate(node: Any, record: dict) -> bool:
    if isinstance(node, And):
        return all(evaluate(n, record) for n in _chain(node))
    if isinstance(node, Or):
        return any(evaluate(n, record) for n in _chain(node))
    if isinstance(node, Not):
        return not evaluate(node.expr, record)
    assert isinstance(node, Cmp)
    try:
        v = lookup(record, node.field)
    except KeyError:
        raise ConditionError(f"unknown field {node.field!r} in conditions") from None
    if isinstance(v, (dict, list)) and node.op not in ("contains",):
        raise ConditionError(
            f"{node.field} is an object; filter on one of its fields, e.g. {node.field}/name"
        )
    if node.op == "like":
        res = _like(v, node.value)
    elif node.op == "contains":
        if isinstance(v, list):
            res = any(str(x).lower() == str(node.value).lower() for x in v)
        else:
            res = v is not None and str(node.value).lower() in str(v).lower()
    elif node.op == "in":
        res = any(_compare(v, "=", x, node.field) for x in node.value)
    else:
        res = _compare(v, node.op, node.value, node.field)
    return (not res) if node.negate else res


def fields_of(node: Any) -> set[str]:
    out: set[str] = set()
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, (And, Or)):
            todo += (n.left, n.right)
        elif isinstance(n, Not):
            todo.append(n.expr)
        else:
            out.add(n.field)
    return out


def compile_conditions(text: Optional[str]) -> Callable[[dict], bool]:
    """A predicate for ``text`` (None/blank → always true)."""
    if text is None or not text.strip():
        return lambda r: True
    ast = parse(text)
    return lambda r: evaluate(ast, r)


# ---------------------------------------------------------------------------------------------
# orderBy and fields

def parse_order_by(text: Optional[str]) -> list[tuple[str, bool]]:
    """``"name asc, securityRole/name desc"`` → [(path, descending)]."""
    if text is None or not text.strip():
        return []
    out = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or not _NAME_RE.fullmatch(words[0]):
            raise ConditionError(f"invalid orderBy clause {part.strip()!r}; use 'field asc' or 'field desc'")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise ConditionError(f"invalid orderBy direction {words[1]!r}; use asc or desc")
        out.append((words[0], direction == "desc"))
    return out


def sort_records(records: list[dict], order: list[tuple[str, bool]]) -> list[dict]:
    for path, desc in reversed(order):
        for r in records[:1]:
            try:
                lookup(r, path)
            except KeyError:
                raise ConditionError(f"unknown field {path!r} in orderBy") from None

        def key(r, path=path):
            v = lookup(r, path, strict=False)
            if isinstance(v, (dict, list)):
                raise ConditionError(f"cannot order by {path}; it is an object, use {path}/name")
            v = _norm(v)
            # None sorts first ascending (SQL Server behaviour)
            return (v is not None, v if v is not None else 0) if not isinstance(v, str) else (True, v)

        try:
            records = sorted(records, key=key, reverse=desc)
        except TypeError:
            records = sorted(records, key=lambda r: str(lookup(r, path, strict=False)), reverse=desc)
    return records


def parse_fields(text: Optional[str]) -> list[str]:
    if text is None or not text.strip():
        return []
    out = []
    for part in text.split(","):
        p = part.strip()
        if not _NAME_RE.fullmatch(p):
            raise ConditionError(f"invalid field {p!r} in fields; use a comma-separated list like id,name")
        out.append(p)
    return out


def project(record: dict, fields: list[str]) -> dict:
    """Partial object with only ``fields`` (nested paths build nested objects)."""
    if not fields:
        return record
    out: dict = {}
    for path in fields:
        parts = path.split("/")
        src: Any = record
        dst = out
        for i, part in enumerate(parts):
            if not isinstance(src, dict):
                break
            key = _ci_key(src, part)
            if key is None:
                break
            if i == len(parts) - 1:
                dst[key] = src[key]
            else:
                src = src[key]
                if not isinstance(src, dict):
                    dst[key] = src
                    break
                dst = dst.setdefault(key, {})
    return out
