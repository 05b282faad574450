"""The embedded default: a stack that chose the bundled emulator (``connectwise:site: emulator``) runs
against it, at 127.0.0.1 on ``CWROLES_EMULATOR_PORT`` (8765), database ``.cwsim/tenant.sqlite`` in the
project folder.

When the program may start it (docs: README.md, "Running a stack by hand"):
- only for a stack that chose the emulator; a stack configured for a real tenant (or for none) never;
- only on a deployment (`pulumi up`; `refresh`/`destroy` with ``--run-program``), never on a preview:
  ``check_running`` (preview) only says whether it runs, ``ensure_running`` (up) starts it if nothing
  listens. The server keeps running after `pulumi up` (its console is where the admin applies
  checklists); stop it with ``cwsim stop --db .cwsim/tenant.sqlite``.
- an emulator of *another* checkout (another database) on the port is never used: the run stops and
  says which process holds the port.

Who listens on the port is found without any HTTP request (Linux: /proc), so a preview makes none.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional

from cwroles import emulator_defaults as D
from cwroles.local_processes import command_line, is_cwsim_serve, pid_listening_on, served_database

EMULATOR = "emulator"  # the value of connectwise:site by which a stack chooses the bundled emulator


def emulator_chosen(site: object, environ: Mapping[str, str] | None = None) -> bool:
    """True when the stack chose the bundled emulator (``connectwise:site`` / ``CONNECTWISE_SITE`` = ``emulator``)."""
    env = os.environ if environ is None else environ
    value = site if site else env.get("CONNECTWISE_SITE")
    return str(value or "").strip().lower() == EMULATOR


def tenant_configured(site: object, environ: Mapping[str, str]) -> bool:
    """True when the stack names a real ConnectWise site (stack config or CONNECTWISE_SITE), not the emulator."""
    value = site or environ.get("CONNECTWISE_SITE")
    return bool(value) and not emulator_chosen(value, {})


def database(project_root: Path) -> Path:
    return (project_root / D.DB_PATH).resolve()


@dataclass(frozen=True)
class Listener:
    """The process listening on a port, as far as this machine tells (fields None when unknown)."""

    port: int
    pid: Optional[int] = None
    argv: Optional[tuple[str, ...]] = None
    db: Optional[Path] = None

    @property
    def is_cwsim(self) -> Optional[bool]:
        if self.argv is None:
            return None
        return is_cwsim_serve(self.argv)

    def describe(self) -> str:
        if self.pid is None:
            return f"an unidentified process on port {self.port}"
        cmd = " ".join(self.argv or ())[:160]
        where = f", database {self.db}" if self.db else ""
        return f"pid {self.pid} ({cmd}{where})"


def _listening(port: int, host: str = D.HOST) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def listener(port: int = D.PORT) -> Optional[Listener]:
    """Who listens on 127.0.0.1:``port`` (None: nobody). No HTTP request."""
    if not _listening(port):
        return None
    pid = pid_listening_on(port)
    if pid is None:
        return Listener(port)
    try:
        argv = command_line(pid)
        return Listener(port, pid, argv, served_database(pid, argv, D.DB_PATH))
    except OSError:
        return Listener(port, pid)


def _ours(found: Listener, project_root: Path) -> bool:
    if found.is_cwsim is False:
        return False
    return found.db is None or found.db == database(project_root)  # unknown (no /proc): trust it


def _foreign(found: Listener, project_root: Path) -> RuntimeError:
    what = "the bundled emulator of another checkout" if found.is_cwsim else "a process that is not the bundled emulator"
    stop = f" (stop it with `cwsim stop --db {found.db}`)" if found.is_cwsim and found.db else ""
    return RuntimeError(
        f"this stack chose the bundled emulator (connectwise:site: {EMULATOR}), whose database is "
        f"{database(project_root)}, but port {found.port} is held by {what}: {found.describe()}{stop}. "
        "cwroles will not run this stack against another tenant's data. Free the port, or give this checkout "
        "its own port: `export CWROLES_EMULATOR_PORT=<free port>`.")


def _using(project_root: Path) -> str:
    return (f"tenant: the bundled emulator at {D.SITE} (database {database(project_root)}, "
            f"console {D.SITE}/console/{D.COMPANY_ID})")


def check_running(project_root: Path, log: Callable[[str], None], port: int = D.PORT) -> None:
    """For a preview: never starts anything; raises RuntimeError if another process holds the port."""
    found = listener(port)
    if found is None:
        log(f"tenant: the bundled emulator at {D.SITE} is not running; `pulumi up` starts it (a preview does not). "
            f"Database: {database(project_root)}")
        return
    if not _ours(found, project_root):
        raise _foreign(found, project_root)
    log(_using(project_root))


def ensure_running(project_root: Path, log: Callable[[str], None], port: int = D.PORT) -> None:
    """For `pulumi up`: start the bundled emulator unless this checkout's already listens; raise RuntimeError
    with the fix if the port is taken by something else or the emulator cannot start."""
    found = listener(port)
    if found is not None:
        if not _ours(found, project_root):
            raise _foreign(found, project_root)
        log(_using(project_root))
        return
    db = database(project_root)
    db.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "cwroles.cwsim.cli", "serve", "--background", "--host", D.HOST, "--port", str(port),
         "--db", str(db)],
        capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=60)
    if result.returncode != 0 or not _listening(port):
        raise RuntimeError(
            f"this stack chose the bundled emulator, and it could not be started on {D.HOST}:{port}: "
            f"{(result.stderr or result.stdout).strip()[-500:]} — free port {port} (or set CWROLES_EMULATOR_PORT), "
            "or configure a real tenant (`pulumi config set connectwise:site …`, see README.md)")
    log(f"tenant: started the bundled emulator at {D.SITE} (database {db}, console {D.SITE}/console/{D.COMPANY_ID}; "
        f"stop it with `cwsim stop --db {db}`)")
