"""When is the bundled emulator the default, and what happens when it cannot start."""

from pathlib import Path

import pytest

from cwroles.stacks import local_emulator


def test_tenant_configured_by_config_or_environment():
    assert not local_emulator.tenant_configured(None, {})
    assert not local_emulator.tenant_configured("", {"CONNECTWISE_SITE": ""})
    assert local_emulator.tenant_configured("api-na.myconnectwise.net", {})
    assert local_emulator.tenant_configured(None, {"CONNECTWISE_SITE": "api-eu.myconnectwise.net"})


def test_already_answering_emulator_is_used_as_is(monkeypatch, tmp_path):
    said = []
    monkeypatch.setattr(local_emulator, "answering", lambda site=None: True)
    monkeypatch.setattr(local_emulator.subprocess, "run", lambda *a, **k: pytest.fail("must not start another"))
    local_emulator.ensure_running(tmp_path, said.append)
    assert "using the bundled emulator" in said[0]


def test_emulator_that_cannot_start_gives_an_actionable_error(monkeypatch, tmp_path):
    class Done:
        returncode, stdout, stderr = 1, "", "cwsim is already answering on 127.0.0.1:8765"

    monkeypatch.setattr(local_emulator, "answering", lambda site=None: False)
    monkeypatch.setattr(local_emulator.subprocess, "run", lambda *a, **k: Done())
    with pytest.raises(RuntimeError) as e:
        local_emulator.ensure_running(Path(tmp_path), lambda m: None)
    assert "could not be started" in str(e.value) and "connectwise:site" in str(e.value)
