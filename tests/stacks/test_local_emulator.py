"""When the bundled emulator is the stack's tenant, who may start it, and whose emulator it is."""

import socket
from pathlib import Path

import pytest

from cwroles import emulator_defaults as D
from cwroles.cwsim.testing import running_server
from cwroles.stacks import local_emulator


def test_only_a_stack_that_chose_it_uses_the_emulator():
    assert local_emulator.emulator_chosen("emulator", {})
    assert local_emulator.emulator_chosen(None, {"CONNECTWISE_SITE": "Emulator"})
    assert not local_emulator.emulator_chosen(None, {})  # nothing configured is not a choice
    assert not local_emulator.emulator_chosen("api-na.myconnectwise.net", {"CONNECTWISE_SITE": "emulator"})
    assert local_emulator.tenant_configured("api-na.myconnectwise.net", {})
    assert not local_emulator.tenant_configured("emulator", {})
    assert not local_emulator.tenant_configured(None, {})


def test_nothing_listening_means_no_listener():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening
        assert local_emulator.listener(port) is None


def test_preview_never_starts_it(monkeypatch, tmp_path):
    said = []
    monkeypatch.setattr(local_emulator, "listener", lambda port=None: None)
    monkeypatch.setattr(local_emulator.subprocess, "run", lambda *a, **k: pytest.fail("a preview must not start it"))
    local_emulator.check_running(tmp_path, said.append)
    assert "is not running; `pulumi up` starts it (a preview does not)" in said[0]


def test_this_checkouts_emulator_is_used_as_is(monkeypatch, tmp_path):
    said = []
    ours = local_emulator.Listener(D.PORT, 4242, ("python", "-m", "cwroles.cwsim.cli", "serve"),
                                   local_emulator.database(tmp_path))
    monkeypatch.setattr(local_emulator, "listener", lambda port=None: ours)
    monkeypatch.setattr(local_emulator.subprocess, "run", lambda *a, **k: pytest.fail("must not start another"))
    local_emulator.ensure_running(tmp_path, said.append)
    local_emulator.check_running(tmp_path, said.append)
    assert all(f"the bundled emulator at {D.SITE} (database {tmp_path / '.cwsim' / 'tenant.sqlite'}" in s for s in said)


def test_another_checkouts_emulator_on_the_port_is_refused(monkeypatch, tmp_path):
    other = local_emulator.Listener(D.PORT, 4242, ("python", "-m", "cwroles.cwsim.cli", "serve"),
                                    Path("/elsewhere/.cwsim/tenant.sqlite"))
    monkeypatch.setattr(local_emulator, "listener", lambda port=None: other)
    for check in (local_emulator.check_running, local_emulator.ensure_running):
        with pytest.raises(RuntimeError) as e:
            check(tmp_path, lambda m: None)
        msg = str(e.value)
        assert "another checkout" in msg and "/elsewhere/.cwsim/tenant.sqlite" in msg
        assert "cwsim stop --db /elsewhere/.cwsim/tenant.sqlite" in msg and "CWROLES_EMULATOR_PORT" in msg


def test_a_listener_that_is_not_the_emulator_is_named(tmp_path):
    # A real server on an ephemeral port (this test process): identified from /proc, without any HTTP request.
    with running_server() as sim:
        port = int(sim.url.rsplit(":", 1)[1])
        found = local_emulator.listener(port)
        assert found is not None and found.pid is not None
        with pytest.raises(RuntimeError, match=f"port {port} is held by a process that is not the bundled emulator"):
            local_emulator.ensure_running(tmp_path, lambda m: None, port=port)
        assert sim.metrics()["total"] == 0  # found out without a single request to it


def test_emulator_that_cannot_start_gives_an_actionable_error(monkeypatch, tmp_path):
    class Done:
        returncode, stdout, stderr = 1, "", "address already in use"

    monkeypatch.setattr(local_emulator, "listener", lambda port=None: None)
    monkeypatch.setattr(local_emulator.subprocess, "run", lambda *a, **k: Done())
    with pytest.raises(RuntimeError) as e:
        local_emulator.ensure_running(Path(tmp_path), lambda m: None)
    assert "could not be started" in str(e.value) and "connectwise:site" in str(e.value)
