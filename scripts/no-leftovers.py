#!/usr/bin/env python3
"""Run a command and fail if it leaves something behind (used by .ci/run and `make demo`).

    scripts/no-leftovers.py make test

After the command, fails (exit 1, or the command's own non-zero exit code) when:
- a process the command started (found by a marker in its environment, which every child inherits,
  detached daemons included) is still listening on a port. Such processes are listed, then stopped,
  so a CI job never hangs on them;
- `git status` shows changes to tracked files that were not there before the command.
Other processes the command left running are listed and stopped too. Linux only for the process
check (/proc); elsewhere it says so and checks git only. Standard library only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

# It runs before the project is installed (.ci/run: `make test` sets it up): load the one module it shares
# with cwroles (standard library only) by its path.
_spec = importlib.util.spec_from_file_location(
    "cwroles_local_processes", Path(__file__).resolve().parent.parent / "cwroles" / "local_processes.py")
assert _spec is not None and _spec.loader is not None
processes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(processes)

MARKER = "CWROLES_RUN_ID"
GRACE_SECONDS = 2.0


def _tracked_changes(root: Path) -> tuple[str, str]:
    """(`git status` lines for tracked files, a hash of their content changes)."""
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                            capture_output=True, text=True).stdout
    diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=root, capture_output=True).stdout
    return status, hashlib.sha256(diff).hexdigest()


def _marked(run_id: str) -> list[int]:
    needle = f"{MARKER}={run_id}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(pid))
        except (OSError, IndexError):
            continue
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return "?"


def _stop(pids: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() and p in _alive(pids) for p in pids):
            time.sleep(0.1)


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                out.append(pid)
        except (OSError, IndexError):
            continue
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[0] + "\nusage: scripts/no-leftovers.py <command> [args...]", file=sys.stderr)
        return 2
    root = Path(subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True).stdout.strip()
                or ".")
    before = _tracked_changes(root)
    run_id = uuid.uuid4().hex
    rc = subprocess.call(argv, env={**os.environ, MARKER: run_id})

    problems: list[str] = []
    if Path("/proc/self/environ").exists():
        deadline = time.monotonic() + GRACE_SECONDS  # let children that are shutting down finish
        left = _marked(run_id)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = _marked(run_id)
        inodes = processes.listening_sockets()
        for pid in left:
            ports = processes.ports_of(pid, inodes)
            what = f"pid {pid} ({_cmdline(pid)})"
            if ports:
                problems.append(f"{what} still listens on port(s) {', '.join(map(str, ports))}")
            else:
                print(f"no-leftovers: {what} was still running; stopped it", file=sys.stderr)
        _stop(left)
    else:
        print("no-leftovers: no /proc on this system: left-over processes are not checked", file=sys.stderr)

    after = _tracked_changes(root)
    if after != before:
        changed = [ln for ln in after[0].splitlines() if ln not in before[0].splitlines()] or after[0].splitlines()
        problems.append("tracked files changed: " + "; ".join(ln.strip() for ln in changed))

    for p in problems:
        print(f"no-leftovers: FAIL: {p}", file=sys.stderr)
    if problems:
        print("no-leftovers: a run must stop what it starts and change no tracked file "
              "(state, databases and checklists belong in the git-ignored .state/, .cwsim/, .cwroles/).",
              file=sys.stderr)
    return rc if rc != 0 else (1 if problems else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
