"""Results kept from one operation to the next, in the user's cache folder (standard library only).

Each entry is stored under a key that covers everything its result was computed from, including the
installed code and data (``code_stamp``: each file's name and content), so an entry is either exactly right
or never found. Reading an entry that is missing, stale or damaged is a miss, and
writing one that cannot be written costs the next run its time, nothing else. Deleting the folder is
always safe.

The folder is ``$CWROLES_PLAN_CACHE`` (default ``${CWROLES_CACHE:-~/.cache/cwroles}/plans``);
``CWROLES_PLAN_CACHE=off`` turns every cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

CACHE_VARIABLE = "CWROLES_PLAN_CACHE"
OFF = "off"
CODE_SUFFIXES = (".py", ".yaml", ".yml", ".json")


def cache_dir() -> Optional[Path]:
    """The cache folder; None when ``CWROLES_PLAN_CACHE=off``."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen:
        return None if chosen.strip().lower() == OFF else Path(chosen)
    base = os.environ.get("CWROLES_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cwroles")
    return Path(base) / "plans"


def code_files(folder: Path) -> Iterator[os.DirEntry]:
    """The code and data files under ``folder`` (compiled files aside), in a stable order."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            if e.name != "__pycache__":
                yield from code_files(Path(e.path))
        elif e.name.endswith(CODE_SUFFIXES):
            yield e


def file_content(path: Path) -> bytes:
    """What a key records of a file: its bytes, or that it is missing or unreadable (never an error)."""
    try:
        return b"file\0" + path.read_bytes()
    except OSError as e:
        return f"unreadable\0{type(e).__name__}".encode()


def code_stamp(folders: Iterable[Path]) -> str:
    """Every code and data file in ``folders``: its name in the folder and its content (about 1 ms for
    cwroles). Not the files' times, so the same version installed again, or on a CI runner that restores the
    cache folder, finds its entries."""
    h = hashlib.sha256()
    for folder in folders:
        h.update(f"folder {folder.name}\n".encode())
        for e in code_files(folder):
            content = file_content(Path(e.path))
            h.update(f"{os.path.relpath(e.path, folder)}\0{len(content)}\0".encode() + content)
    return h.hexdigest()


def digest(value: Any) -> str:
    """A key for a JSON-like value (mapping keys sorted)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=repr).encode()).hexdigest()


def read_json(path: Optional[Path]) -> Optional[Any]:
    """The JSON in ``path``, or None (no path, missing, unreadable or damaged)."""
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Optional[Path], value: Any) -> bool:
    """Write ``value`` to ``path`` atomically; False (and nothing left behind) when it cannot be written."""
    if path is None:
        return False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(value), encoding="utf-8")
        os.replace(tmp, path)
        return True
    except (OSError, TypeError, ValueError):
        try:
            tmp.unlink()
        except OSError:
            pass
        return False


def prune(folder: Optional[Path], max_age_days: float) -> None:
    """Remove the entries of ``folder`` not written for ``max_age_days`` (best effort)."""
    if folder is None:
        return
    oldest = time.time() - max_age_days * 86400
    try:
        for e in os.scandir(folder):
            if e.is_file() and e.stat().st_mtime < oldest:
                os.unlink(e.path)
    except OSError:
        pass
