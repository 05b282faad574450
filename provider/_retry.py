"""Retry policy: exponential backoff with jitter, bounded in attempts and in total time."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

__all__ = ["RetryPolicy", "Budget", "parse_retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``max_retries`` counts retries after the first attempt.

    ``max_total`` bounds the whole call (all attempts and waits), in seconds; a wait that would
    overrun it (including a server's Retry-After) is not started.
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_total: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def budget(self) -> "Budget":
        return Budget(self)


class Budget:
    """The retry allowance of one logical operation (shared by the retries of a create, say)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.start = policy.clock()
        self.retries = 0

    def elapsed(self) -> float:
        return self.policy.clock() - self.start

    def next_delay(self, retry_after: Optional[float] = None) -> Optional[float]:
        """The wait before the next attempt, or None when the budget is spent."""
        p = self.policy
        if self.retries >= p.max_retries:
            return None
        backoff = min(p.max_delay, p.base_delay * (2 ** self.retries))
        delay = backoff * (0.5 + 0.5 * p.jitter())  # "equal jitter": between half and all of the backoff
        if retry_after is not None:
            delay = max(retry_after, 0.0)
        if self.elapsed() + delay > p.max_total:
            return None
        return delay

    def wait(self, delay: float) -> None:
        self.retries += 1
        if delay > 0:
            self.policy.sleep(delay)


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent/unparsable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000" (or no zone): an HTTP-date is always UTC, never the local time
        when = when.replace(tzinfo=dt.timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)
