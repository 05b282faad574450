"""Every test keeps the caches cwroles writes between operations (the program's plans, the provider's checks)
to itself: nothing is read from, or left in, the user's cache folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def own_plan_cache(tmp_path, monkeypatch):
    folder = tmp_path / "plan-cache"
    monkeypatch.setenv("CWROLES_PLAN_CACHE", str(folder))
    return folder
