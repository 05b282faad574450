"""Setup and the project's commands keep Pulumi state in this checkout and never touch the user's global
login (~/.pulumi/credentials.json); they say which backend and which emulator are in use."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.sandbox import pulumi_bin_dir

REPO = Path(__file__).resolve().parents[2]


def _home(tmp_path: Path, login: str | None) -> Path:
    home = tmp_path / "home"
    (home / ".pulumi").mkdir(parents=True)
    if login is not None:
        (home / ".pulumi" / "credentials.json").write_text(json.dumps({"current": login, "accessTokens": {}}))
    return home


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    return {**env, "HOME": str(home), "CWROLES_EMULATOR_PORT": "18999", **extra}


def test_project_commands_use_the_checkouts_backend_even_when_logged_in_elsewhere(tmp_path):
    home = _home(tmp_path, "https://api.pulumi.com")
    before = (home / ".pulumi" / "credentials.json").read_text()
    out = subprocess.run([str(REPO / "scripts" / "with-pulumi-env.sh"), "sh", "-c", "echo $PULUMI_BACKEND_URL"],
                         env=_env(home), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"file://{REPO}/.state"
    assert f"Pulumi state: file://{REPO}/.state" in out.stderr
    assert f"http://127.0.0.1:18999, database {REPO}/.cwsim/tenant.sqlite" in out.stderr
    assert (home / ".pulumi" / "credentials.json").read_text() == before
    mine = subprocess.run([str(REPO / "scripts" / "with-pulumi-env.sh"), "sh", "-c", "echo $PULUMI_BACKEND_URL"],
                          env=_env(home, PULUMI_BACKEND_URL="file:///elsewhere"), capture_output=True, text=True)
    assert mine.stdout.strip() == "file:///elsewhere"  # an explicit choice wins


@pytest.mark.engine  # needs the pinned CLI that `make setup` links
def test_setup_never_logs_the_global_cli_in(tmp_path):
    home = _home(tmp_path, None)
    env = _env(home, PATH="/usr/bin:/bin")
    subprocess.run([str(REPO / "scripts" / "link-pulumi.sh"), str(pulumi_bin_dir())], env=env, check=True,
                   capture_output=True, text=True)
    assert not (home / ".pulumi" / "credentials.json").exists()


def test_the_project_file_keeps_state_in_the_checkout():
    text = (REPO / "Pulumi.yaml").read_text()
    assert "backend:\n  url: file://./.state" in text
