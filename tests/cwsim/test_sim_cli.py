"""`cwsim serve --background` / `cwsim stop` as a script would use them (cwsim/cli.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

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
        pidfile = db.parent / "tenant.sqlite.pid"  # one pidfile per database
        assert pidfile.exists() and f"pidfile {pidfile}" in out
        r = httpx.get(f"http://127.0.0.1:{port}/v2025_1/apis/3.0/system/securityroles/count",
                      headers={"Authorization": basic_auth("clico", D.ADMIN_PUBLIC_KEY, D.ADMIN_PRIVATE_KEY),
                               "clientId": D.CLIENT_ID})
        assert r.json() == {"count": 1}
    finally:
        stopped = cwsim("stop", "--db", str(db))
    assert stopped.returncode == 0, stopped.stderr
    assert not (db.parent / "tenant.sqlite.pid").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/_cwsim/health", timeout=1)
    assert cwsim("stop", "--db", str(db)).returncode == 1  # nothing to stop: clear message, non-zero


def _answers(port: str) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/_cwsim/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_stop_never_stops_another_databases_server_in_the_same_folder(tmp_path):
    """Two databases in one folder, two background servers: `cwsim stop --db A` stops A only, even when A's
    pidfile was overwritten with B's process id (a copied folder, say)."""
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    pa, pb = str(free_port()), str(free_port())
    try:
        assert cwsim("serve", "--background", "--port", pa, "--db", str(a)).returncode == 0
        assert cwsim("serve", "--background", "--port", pb, "--db", str(b)).returncode == 0
        assert (tmp_path / "a.sqlite.pid").read_text() != (tmp_path / "b.sqlite.pid").read_text()
        stopped = cwsim("stop", "--db", str(a))
        assert stopped.returncode == 0, stopped.stderr
        assert not _answers(pa)
        assert _answers(pb), "stopping A's emulator stopped B's"
        assert cwsim("stop", "--db", str(a)).returncode == 1  # A is already stopped: nothing of B's is touched
        assert _answers(pb)
        (tmp_path / "a.sqlite.pid").write_text((tmp_path / "b.sqlite.pid").read_text())
        refused = cwsim("stop", "--db", str(a))
        assert refused.returncode == 1 and f"serves {b}" in refused.stderr, refused.stderr
        assert _answers(pb) and not (tmp_path / "a.sqlite.pid").exists()
    finally:
        cwsim("stop", "--db", str(a))
        cwsim("stop", "--db", str(b))
    assert not _answers(pb)


@pytest.mark.parametrize("background", [False, True])
def test_serve_on_a_busy_port_fails_before_printing_keys(tmp_path, background):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        args = ["serve", "--port", port, "--db", str(tmp_path / "t.sqlite")] + (["--background"] if background else [])
        t = time.monotonic()
        run = cwsim(*args, timeout=20)
    assert run.returncode == 1
    assert time.monotonic() - t < 15
    out = run.stdout + run.stderr
    assert "listening" not in out and D.ADMIN_PRIVATE_KEY not in out and D.ADMIN_PUBLIC_KEY not in out
    assert f"cwsim cannot listen on 127.0.0.1:{port}: the port is already in use" in run.stderr
    assert "Traceback" not in out
    assert not (tmp_path / "t.sqlite.pid").exists()


def test_foreground_serve_prints_the_banner_once_listening_and_every_link_answers(tmp_path):
    port = str(free_port())
    db = tmp_path / "f.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "cwroles.cwsim.cli", "serve", "--port", port, "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = [proc.stdout.readline() for _ in range(9)]
        assert banner[0].strip() == f"cwsim listening on http://127.0.0.1:{port}"
        assert _answers(port)  # listening when it says so
        links = [line.split()[1] for line in banner[1:4]]  # API, console, admin
        assert links[2] == f"http://127.0.0.1:{port}/_cwsim/"
        admin = httpx.get(links[2])
        assert admin.status_code == 200
        paths = {e["path"] for e in admin.json()["endpoints"]}
        assert {"/_cwsim/health", "/_cwsim/faults", "/_cwsim/requests", "/_cwsim/reset"} <= paths
        assert httpx.get(links[1]).status_code == 200  # console
        api = httpx.get(links[0] + "/system/securityroles/count",
                        headers={"Authorization": basic_auth(D.COMPANY_ID, D.ADMIN_PUBLIC_KEY, D.ADMIN_PRIVATE_KEY),
                                 "clientId": D.CLIENT_ID})
        assert api.json() == {"count": 1}
        assert (tmp_path / "f.sqlite.pid").read_text() == str(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    assert not (tmp_path / "f.sqlite.pid").exists()
