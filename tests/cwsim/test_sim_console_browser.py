"""The console driven by headless Chromium: change a level in the grid, Save, check the API."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CWSIM_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
def test_change_level_in_console_with_chromium(sim, api):
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(or set CWSIM_CHROMIUM to its path)")
    from playwright.sync_api import sync_playwright

    role = api.post("/system/securityroles", json={"name": "Browser"}).json()
    rows = api.get(f"/system/securityRoles/{role['id']}/settings",
                   params={"conditions": "moduleName = 'System' and moduleFunctionName = 'Table Setup'"}).json()
    row = rows[0]
    assert row["inquireLevel"] == "None"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(sim.console_url)
            page.click("text=Browser")
            page.select_option(f"select#s{row['id']}_inquire", "All")
            page.select_option(f"select#s{row['id']}_add", "My")
            page.click("button#save")
            page.wait_for_selector("#flash")
            assert "Saved 1 change" in page.inner_text("#flash")
            assert page.input_value(f"select#s{row['id']}_inquire") == "All"
        finally:
            browser.close()
    after = api.get(f"/system/securityRoles/{role['id']}/settings/{row['id']}").json()
    assert (after["inquireLevel"], after["addLevel"], after["editLevel"]) == ("All", "My", "None")
