"""The retry policy (provider/_retry.py): backoff, jitter, the attempt and total-time bounds, Retry-After."""

from __future__ import annotations

import calendar
import time

import pytest

from cwroles.provider import RetryPolicy
from cwroles.provider._retry import Budget, parse_retry_after


class Clock:
    """Time that moves only when told: by the policy's sleeps and by ``advance`` (time spent in requests)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def policy(clock: Clock, jitter: float = 1.0, **kw) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=clock, jitter=lambda: jitter, **kw)


def delays(budget: Budget, retry_after=None) -> list[float]:
    """Every delay the budget grants, waiting each one, until it is spent."""
    out = []
    while (d := budget.next_delay(retry_after)) is not None:
        out.append(d)
        budget.wait(d)
    return out


# ---- the default policy --------------------------------------------------------------------------------
def test_default_policy_values():
    p = RetryPolicy()
    assert (p.max_retries, p.base_delay, p.max_delay, p.max_total) == (4, 0.5, 8.0, 60.0)
    assert p.sleep is time.sleep and p.clock is time.monotonic
    assert 0.0 <= p.jitter() < 1.0


def test_default_policy_backs_off_four_times_doubling_from_half_a_second():
    clock = Clock()
    p = RetryPolicy(sleep=clock.sleep, clock=clock, jitter=lambda: 1.0)
    assert delays(p.budget()) == [0.5, 1.0, 2.0, 4.0]
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]


def test_policies_compare_by_their_numbers_only():
    assert RetryPolicy(sleep=lambda s: None) == RetryPolicy()
    assert RetryPolicy(max_retries=1) != RetryPolicy()
    assert "sleep" not in repr(RetryPolicy()) and "max_total=60.0" in repr(RetryPolicy())


# ---- backoff and jitter --------------------------------------------------------------------------------
def test_backoff_is_capped_at_max_delay():
    clock = Clock()
    assert delays(policy(clock, max_retries=6, base_delay=1, max_delay=5, max_total=1000).budget()) == [1, 2, 4, 5, 5, 5]


@pytest.mark.parametrize("jitter, first", [(0.0, 0.5), (0.5, 0.75), (0.999, 0.9995)])
def test_equal_jitter_keeps_between_half_and_all_of_the_backoff(jitter, first):
    clock = Clock()
    b = policy(clock, jitter=jitter, base_delay=1.0).budget()
    assert b.next_delay() == pytest.approx(first)
    b.wait(b.next_delay())
    assert b.next_delay() == pytest.approx(2 * first)  # the backoff doubled; same jitter fraction


def test_no_retries_means_no_delay():
    assert policy(Clock(), max_retries=0).budget().next_delay() is None


def test_next_delay_does_not_count_a_retry_wait_does():
    clock = Clock()
    b = policy(clock).budget()
    assert b.next_delay() == b.next_delay() == 0.5 and b.retries == 0
    b.wait(0.5)
    assert b.retries == 1 and clock.sleeps == [0.5]


def test_a_zero_wait_counts_as_a_retry_without_sleeping():
    clock = Clock()
    b = policy(clock, max_retries=2).budget()
    b.wait(0.0)
    b.wait(0)
    assert b.retries == 2 and clock.sleeps == [] and b.next_delay() is None


# ---- the total-time bound and the clock ----------------------------------------------------------------
def test_elapsed_is_measured_from_the_budgets_creation():
    clock = Clock(start=500.0)
    b = policy(clock).budget()
    assert b.start == 500.0 and b.elapsed() == 0.0
    clock.advance(2.5)
    assert b.elapsed() == 2.5


def test_a_wait_ending_exactly_at_max_total_is_allowed_one_beyond_is_not():
    clock = Clock()
    b = policy(clock, base_delay=1.0, max_total=10.0).budget()
    clock.advance(9.0)  # time spent in requests counts too
    assert b.next_delay() == 1.0  # 9 + 1 == 10: still inside
    clock.advance(0.001)
    assert b.next_delay() is None  # 9.001 + 1 > 10


def test_time_spent_in_requests_shortens_the_budget():
    clock = Clock()
    b = policy(clock, max_retries=10, base_delay=1.0, max_delay=1.0, max_total=5.0).budget()
    granted = []
    while True:
        clock.advance(1.0)  # each attempt takes a second, then fails
        d = b.next_delay()
        if d is None:
            break
        granted.append(d)
        b.wait(d)
    # attempt, wait, attempt, wait, attempt = 5 s; one more wait would end at 6 > 5
    assert granted == [1.0, 1.0] and b.retries == 2
    assert clock.now - 1000.0 == 5.0


def test_budgets_are_independent():
    clock = Clock()
    p = policy(clock, max_retries=1)
    a = p.budget()
    a.wait(a.next_delay())
    assert a.next_delay() is None
    assert p.budget().next_delay() == 0.5


# ---- Retry-After -----------------------------------------------------------------------------------------
def test_retry_after_replaces_the_backoff_even_below_it():
    clock = Clock()
    b = policy(clock, base_delay=4.0).budget()
    assert b.next_delay(retry_after=1.5) == 1.5
    assert b.next_delay(retry_after=0.0) == 0.0
    assert b.next_delay(retry_after=-3.0) == 0.0  # never a negative sleep


def test_retry_after_may_exceed_max_delay_but_not_max_total():
    clock = Clock()
    b = policy(clock, max_delay=2.0, max_total=30.0).budget()
    assert b.next_delay(retry_after=20.0) == 20.0
    assert b.next_delay(retry_after=30.0) == 30.0
    assert b.next_delay(retry_after=30.5) is None


def test_retry_after_does_not_lift_the_attempt_bound():
    clock = Clock()
    assert delays(policy(clock, max_retries=2).budget(), retry_after=0.25) == [0.25, 0.25]


@pytest.mark.parametrize("value, seconds", [
    ("3", 3.0), (" 7 ", 7.0), ("0", 0.0), ("1.5", 1.5), ("-4", 0.0),
])
def test_parse_retry_after_delta_seconds(value, seconds):
    assert parse_retry_after(value) == seconds


NOW = calendar.timegm((2026, 6, 15, 12, 0, 0))


@pytest.mark.parametrize("value, seconds", [
    ("Mon, 15 Jun 2026 12:00:30 GMT", 30.0),            # the HTTP-date form (RFC 9110)
    ("Mon, 15 Jun 2026 12:02:00 +0000", 120.0),
    ("Mon, 15 Jun 2026 14:00:10 +0200", 10.0),          # an explicit offset is honoured
    ("Mon, 15 Jun 2026 12:00:30 -0000", 30.0),          # "-0000": UTC, not the local time
    ("Mon, 15 Jun 2026 11:59:00 GMT", 0.0),             # in the past: retry now
])
def test_parse_retry_after_http_date(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


def test_http_date_without_a_zone_is_utc_whatever_the_machine_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_retry_after("Mon, 15 Jun 2026 12:00:30 -0000", now=NOW) == 30.0
    finally:
        monkeypatch.undo()
        time.tzset()


def test_parse_retry_after_uses_the_wall_clock_by_default():
    soon = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 100))
    assert 95.0 <= parse_retry_after(soon) <= 100.0


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "Mon, 99 Foo 2026", "12 parsecs"])
def test_parse_retry_after_ignores_what_it_cannot_read(value):
    assert parse_retry_after(value, now=NOW) is None
