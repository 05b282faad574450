"""What this machine's /proc says about local processes: who listens on a TCP port, which ports a process
listens on, which database a ``cwsim serve`` serves. Linux only; the callers say what they do elsewhere.

Standard library only, and imports nothing of cwroles: scripts/no-leftovers.py loads this file by its path
before the project is installed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def listening_sockets() -> dict[str, int]:
    """Socket inode -> port, for every TCP socket that listens (IPv4 and IPv6)."""
    sockets: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == LISTEN:
                sockets[f[9]] = int(f[1].rsplit(":", 1)[1], 16)
    return sockets


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` holds; raises OSError (gone, or another user's process)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed since the listing (e.g. the listing's own descriptor)
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def ports_of(pid: int, sockets: Optional[dict[str, int]] = None) -> list[int]:
    """The ports process ``pid`` listens on (none when /proc cannot tell)."""
    sockets = listening_sockets() if sockets is None else sockets
    try:
        return sorted({sockets[i] for i in _socket_inodes(pid) if i in sockets})
    except OSError:
        return []


def pid_listening_on(port: int) -> Optional[int]:
    """The process that listens on ``port`` (None: none found, or /proc cannot tell)."""
    inodes = {inode for inode, p in listening_sockets().items() if p == port}
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if _socket_inodes(int(pid)) & inodes:
                return int(pid)
        except OSError:
            continue
    return None


def command_line(pid: int) -> tuple[str, ...]:
    """The arguments process ``pid`` was started with; raises OSError (FileNotFoundError: not running)."""
    return tuple(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1])


def is_cwsim_serve(argv: tuple[str, ...] | list[str]) -> bool:
    """Whether a process started with ``argv`` is a ``cwsim serve`` (the ``cwsim`` script, or
    ``python -m cwroles.cwsim.cli``), not merely a command that mentions cwsim."""
    return "serve" in argv and any(a == "cwsim" or a.endswith(("/cwsim", "cwsim.cli")) for a in argv)


def served_database(pid: int, argv: tuple[str, ...], default: str) -> Path:
    """The database a ``cwsim serve`` started with ``argv`` serves: its ``--db`` (else ``default``), relative to
    the process's working directory; raises OSError when /proc cannot tell that directory."""
    value = default
    for i, a in enumerate(argv):
        if a == "--db" and i + 1 < len(argv):
            value = argv[i + 1]
        elif a.startswith("--db="):
            value = a.split("=", 1)[1]
    path = Path(value)
    if not path.is_absolute():
        path = Path(os.readlink(f"/proc/{pid}/cwd")) / path
    return path.resolve()
