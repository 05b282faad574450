"""Fault injection and request metrics, as an outermost ASGI middleware.

Faults apply to the emulated API (``/{codebase}/apis/3.0/...``) and ``/login/companyinfo``; never
to ``/_cwsim`` or ``/console``. Each rule selects requests by ``method`` and a ``path`` regex
(searched in the path after ``/apis/3.0``, case-insensitive) and fires either for the next
``count`` matching requests (deterministic) or with ``probability`` drawn from a seeded RNG.

Kinds:
  latency     sleep ``ms`` milliseconds, then answer normally
  status      answer ``status`` (default 503) in ConnectWise's error shape; 429 adds Retry-After
  rate_limit  allow ``limit`` requests per ``window_seconds``; beyond that 429 + Retry-After
  drop        close the connection without any response
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Optional

API_RE = re.compile(r"^/v\d+_\d+(?:_release)?/apis/3\.0(?P<rest>/.*)?$", re.IGNORECASE)
KINDS = ("latency", "status", "rate_limit", "drop")


def normalize_path(path: str) -> str:
    m = API_RE.match(path)
    rest = (m.group("rest") or "/") if m else path
    rest = rest.rstrip("/") or "/"
    parts = ["{id}" if p.isdigit() else p.lower() for p in rest.split("/")]
    out = "/".join(parts)
    if out.startswith("/login/companyinfo/"):
        return "/login/companyinfo/{companyId}"
    return out


@dataclass
class Rule:
    kind: str
    path: Optional[str] = None
    method: Optional[str] = None
    count: Optional[int] = None
    probability: Optional[float] = None
    seed: Optional[int] = None
    ms: int = 0
    status: int = 503
    retry_after: int = 1
    limit: int = 60
    window_seconds: float = 60.0
    id: int = 0
    fired: int = 0
    _rng: Any = field(default=None, repr=False)
    _rx: Any = field(default=None, repr=False)
    _hits: Any = field(default_factory=deque, repr=False)

    @classmethod
    def from_json(cls, data: dict, rule_id: int) -> "Rule":
        if not isinstance(data, dict):
            raise ValueError("a fault rule must be a JSON object")
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        allowed = {"kind", "path", "method", "count", "probability", "seed", "ms", "status", "retry_after",
                   "retryAfter", "limit", "window_seconds", "windowSeconds"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        r = cls(
            kind=kind,
            path=data.get("path"),
            method=(data.get("method") or None) and str(data["method"]).upper(),
            count=data.get("count"),
            probability=data.get("probability"),
            seed=data.get("seed"),
            ms=int(data.get("ms", 0)),
            status=int(data.get("status", 429 if kind == "rate_limit" else 503)),
            retry_after=int(data.get("retry_after", data.get("retryAfter", 1))),
            limit=int(data.get("limit", 60)),
            window_seconds=float(data.get("window_seconds", data.get("windowSeconds", 60.0))),
            id=rule_id,
        )
        if r.count is not None and (not isinstance(r.count, int) or r.count < 1):
            raise ValueError("count must be a whole number of requests, 1 or more")
        if r.probability is not None and not 0 <= float(r.probability) <= 1:
            raise ValueError("probability must be between 0 and 1")
        if r.kind == "status" and not 400 <= r.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        try:
            r._rx = re.compile(r.path, re.IGNORECASE) if r.path else None
        except re.error as e:
            raise ValueError(f"path is not a valid regular expression: {e}") from None
        r._rng = random.Random(r.seed)
        return r

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "path": self.path, "method": self.method, "count": self.count,
                "probability": self.probability, "seed": self.seed, "ms": self.ms, "status": self.status,
                "retry_after": self.retry_after, "limit": self.limit, "window_seconds": self.window_seconds,
                "fired": self.fired}

    def matches(self, method: str, rest: str) -> bool:
        if self.method and self.method != method.upper():
            return False
        return not self._rx or bool(self._rx.search(rest))

    def fires(self) -> bool:
        """Called for a matching request: does the fault apply to it?"""
        if self.kind == "rate_limit":
            t = time.monotonic()
            while self._hits and t - self._hits[0] >= self.window_seconds:
                self._hits.popleft()
            if len(self._hits) < self.limit:
                self._hits.append(t)
                return False
            return True
        if self.count is not None:
            if self.fired >= self.count:
                return False
            if self.probability is None or self._rng.random() < float(self.probability):
                return True
            return False
        if self.probability is not None:
            return self._rng.random() < float(self.probability)
        return True

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count


class Faults:
    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self._next = 1
        self.lock = threading.Lock()
        self.by_endpoint: Counter = Counter()
        self.by_status: Counter = Counter()
        self.injected: Counter = Counter()
        self.total = 0

    # ---- rules ----
    def add(self, data: dict) -> Rule:
        with self.lock:
            r = Rule.from_json(data, self._next)
            self._next += 1
            self.rules.append(r)
            return r

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def remove(self, rule_id: int) -> bool:
        with self.lock:
            before = len(self.rules)
            self.rules = [r for r in self.rules if r.id != rule_id]
            return len(self.rules) != before

    def pick(self, method: str, rest: str) -> list[Rule]:
        with self.lock:
            fired = []
            for r in self.rules:
                if not r.exhausted and r.matches(method, rest) and r.fires():
                    r.fired += 1
                    fired.append(r)
            return fired

    # ---- metrics ----
    def record(self, method: str, path: str, status: Optional[int]) -> None:
        with self.lock:
            self.total += 1
            self.by_endpoint[f"{method.upper()} {normalize_path(path)}"] += 1
            self.by_status[str(status) if status is not None else "dropped"] += 1

    def metrics(self) -> dict:
        with self.lock:
            return {"total": self.total, "byEndpoint": dict(sorted(self.by_endpoint.items())),
                    "byStatus": dict(sorted(self.by_status.items())), "faultsInjected": dict(self.injected)}

    def reset_metrics(self) -> None:
        with self.lock:
            self.total = 0
            self.by_endpoint.clear()
            self.by_status.clear()
            self.injected.clear()


def _is_faultable(path: str) -> bool:
    return bool(API_RE.match(path)) or path.lower().startswith("/login/companyinfo")


class FaultMiddleware:
    def __init__(self, app, faults: Faults):
        self.app = app
        self.faults = faults

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not _is_faultable(scope["path"]):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        m = API_RE.match(path)
        rest = (m.group("rest") or "/") if m else path
        status_box: dict[str, Optional[int]] = {"status": None}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status_box["status"] = message["status"]
            await send(message)

        for rule in self.faults.pick(method, rest):
            self.faults.injected[rule.kind] += 1
            if rule.kind == "latency":
                await asyncio.sleep(rule.ms / 1000)
            elif rule.kind == "drop":
                self.faults.record(method, path, None)
                _drop_connection(send)
                return
            else:  # status / rate_limit
                status = rule.status if rule.kind == "status" else 429
                headers = [(b"content-type", b"application/json")]
                if status in (429, 503):
                    headers.append((b"retry-after", str(rule.retry_after).encode()))
                if status == 429:
                    body = {"code": "TooManyRequests",
                            "message": f"Rate limit exceeded; retry after {rule.retry_after} second(s).", "errors": []}
                else:
                    body = {"code": "ServerError" if status >= 500 else "InjectedFault",
                            "message": f"cwsim injected fault (rule {rule.id}): HTTP {status}.", "errors": []}
                data = json.dumps(body).encode()
                headers.append((b"content-length", str(len(data)).encode()))
                await send_wrapper({"type": "http.response.start", "status": status, "headers": headers})
                await send_wrapper({"type": "http.response.body", "body": data})
                self.faults.record(method, path, status)
                return
        await self.app(scope, receive, send_wrapper)
        self.faults.record(method, path, status_box["status"])


def _drop_connection(send) -> None:
    """Close the TCP connection without answering (uvicorn's h11/httptools cycle)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("cwsim drop fault needs uvicorn")
    transport.close()
    try:
        cycle.disconnected = True
    except AttributeError:
        pass
