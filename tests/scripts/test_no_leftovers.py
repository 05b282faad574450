"""The guard of .ci/run and `make demo` (scripts/no-leftovers.py): a run that leaves a listening process or
changes a tracked file fails, naming it; the process is stopped; a clean run passes with the command's code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GUARD = REPO / "scripts" / "no-leftovers.py"

# Starts a detached server on an ephemeral port (like `cwsim serve --background`) and exits.
DAEMON = textwrap.dedent("""
    import os, socket, subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", '''
    import socket, time
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    open("PORTFILE", "w").write(str(s.getsockname()[1]))
    time.sleep(120)
    '''.replace("PORTFILE", sys.argv[1])], start_new_session=True)
""")


def _git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    run = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)
    run("init", "-q")
    (repo / "tracked.txt").write_text("v1\n")
    run("add", "tracked.txt")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return repo


def _guard(repo: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(GUARD), *command], cwd=repo, capture_output=True, text=True, timeout=60)


def test_a_clean_run_passes_with_the_commands_exit_code(tmp_path):
    repo = _git_repo(tmp_path)
    assert _guard(repo, sys.executable, "-c", "print('ok')").returncode == 0
    assert _guard(repo, sys.executable, "-c", "raise SystemExit(3)").returncode == 3


def test_a_listener_left_behind_fails_the_run_and_is_stopped(tmp_path):
    repo = _git_repo(tmp_path)
    portfile = tmp_path / "port"
    result = _guard(repo, sys.executable, "-c", DAEMON, str(portfile))
    port = int(portfile.read_text())
    assert result.returncode == 1
    assert f"still listens on port(s) {port}" in result.stderr
    time.sleep(0.5)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # stopped by the guard


def test_a_changed_tracked_file_fails_the_run(tmp_path):
    repo = _git_repo(tmp_path)
    result = _guard(repo, sys.executable, "-c", "open('tracked.txt', 'a').write('v2')")
    assert result.returncode == 1 and "tracked files changed: M tracked.txt" in result.stderr
    (repo / "untracked.txt").write_text("x")  # untracked files (ignored state, databases) are not its business
    assert _guard(repo, sys.executable, "-c", "open('new.txt', 'w').write('x')").returncode == 0


def test_ci_and_the_demo_run_under_the_guard():
    assert "scripts/no-leftovers.py make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/no-leftovers.py" in demo
    assert os.access(GUARD, os.X_OK)
