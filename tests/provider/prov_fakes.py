"""Shared fixtures: a fake ConnectWise tenant behind respx, and provider config pointing at it."""

from __future__ import annotations

import httpx
import pytest
import respx

from cwroles.catalog import load_catalog
from cwroles.provider import _config

SITE = "https://cw.test"
COMPANY = "acme"
CODEBASE = "v2025_1/"
BASE = f"{SITE}/{CODEBASE}apis/3.0"
PUBLIC = "pubKEY123"
PRIVATE = "privSECRET-9f8e7d"
CLIENT_ID = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def cw():
    """respx router with codebase discovery in place; every other call must be mocked by the test."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.get(f"{SITE}/login/companyinfo/{COMPANY}").mock(
            return_value=httpx.Response(200, json={"CompanyName": "Acme", "Codebase": CODEBASE, "IsCloud": True})
        )
        yield router


@pytest.fixture(autouse=True)
def provider_env(monkeypatch, tmp_path):
    """Provider settings from CONNECTWISE_* pointing at the fake tenant; no retries by default."""
    for k in ("SITE", "COMPANY_ID", "CLIENT_ID", "PUBLIC_KEY", "PRIVATE_KEY", "CODEBASE", "API_VERSION",
              "MAX_RETRIES", "RETRY_MAX_SECONDS", "TIMEOUT"):
        monkeypatch.delenv(f"CONNECTWISE_{k}", raising=False)
    monkeypatch.setenv("CONNECTWISE_SITE", SITE)
    monkeypatch.setenv("CONNECTWISE_COMPANY_ID", COMPANY)
    monkeypatch.setenv("CONNECTWISE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CONNECTWISE_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("CONNECTWISE_PRIVATE_KEY", PRIVATE)
    monkeypatch.setenv("CONNECTWISE_MAX_RETRIES", "0")
    monkeypatch.chdir(tmp_path)
    _config.reset()
    yield
    _config.reset()


def settings_rows(levels: dict[tuple[str, str], dict[str, str]] | None = None) -> list[dict]:
    """Live ``/settings`` rows for every catalog function (None unless given)."""
    levels = levels or {}
    rows = []
    for i, (m, f) in enumerate(load_catalog().functions(), start=1):
        lv = levels.get((m.name, f.name), {})
        rows.append({
            "id": i,
            "moduleName": m.name,
            "moduleIdentifier": m.identifier,
            "moduleFunctionName": f.name,
            "moduleFunctionIdentifier": f.identifier,
            "addLevel": lv.get("add", "None"),
            "editLevel": lv.get("edit", "None"),
            "deleteLevel": lv.get("delete", "None"),
            "inquireLevel": lv.get("inquire", "None"),
            "sortOrder": i,
        })
    return rows
