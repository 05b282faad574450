"""`cwsim serve --background` / `cwsim stop` as a script would use them (cwsim/cli.py)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from cwroles import emulator_defaults as D
from cwroles.cwsim.testing import basic_auth, free_port


def cwsim(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cwroles.cwsim.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_background_serve_and_stop(tmp_path):
    db = tmp_path / "state" / "tenant.sqlite"
    port = str(free_port())
    started = cwsim("serve", "--background", "--port", port, "--db", str(db), "--company", "clico")
    try:
        assert started.returncode == 0, started.stderr
        out = started.stdout
        assert f"http://127.0.0.1:{port}" in out and "clico" in out and D.CLIENT_ID in out
        assert D.ADMIN_PUBLIC_KEY in out and D.ADMIN_PRIVATE_KEY in out
        pidfile = db.parent / "cwsim.pid"
        assert pidfile.exists()
        r = httpx.get(f"http://127.0.0.1:{port}/v2025_1/apis/3.0/system/securityroles/count",
                      headers={"Authorization": basic_auth("clico", D.ADMIN_PUBLIC_KEY, D.ADMIN_PRIVATE_KEY),
                               "clientId": D.CLIENT_ID})
        assert r.json() == {"count": 1}
    finally:
        stopped = cwsim("stop", "--db", str(db))
    assert stopped.returncode == 0, stopped.stderr
    assert not (db.parent / "cwsim.pid").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/_cwsim/health", timeout=1)
    assert cwsim("stop", "--db", str(db)).returncode == 1  # nothing to stop: clear message, non-zero
