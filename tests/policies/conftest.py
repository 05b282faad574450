"""Fixtures for the policy-pack tests (helpers: policy_helpers.py)."""

import pytest


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch):
    """Waiver checks never depend on the machine's clock unless a test says so."""
    monkeypatch.setenv("CWROLES_POLICY_TODAY", "2026-06-15")
