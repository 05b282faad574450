"""The stack program's plan, kept from one operation to the next while nothing it was built from changed.

Building a plan validates the stack config and the vendor manifest against the catalog: the core's
models, read on every `pulumi preview` and `up`, although the inputs rarely change. A plan is stored
only after it was built and validated without an error, under a key that covers everything it was built
from: the stack's cwroles config, the stack file (its lines appear in notices), the project's manifest
files, and the installed code and data of ``cwroles`` and ``cwroles.stacks``. Any change of these, or an
unreadable entry, builds the plan again. A stack with a cwroles setting stored as a secret is never
cached (the plan would hold it in plain text). Where the cache lives and how to turn it off:
``cwroles.cache``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from cwroles import cache
from cwroles.project import manifest_paths

from .plan import Plan

FORMAT = 1


def _code_folders() -> list[Path]:
    import cwroles

    from . import __path__ as stacks_path

    return [Path(p) for p in (*cwroles.__path__, *stacks_path)]


def plan_key(raw: Mapping[str, Any], root: Optional[Path], stack_file: Path, code: Optional[str] = None) -> str:
    """The key of the plan built from ``raw`` stack config in project ``root``."""
    h = hashlib.sha256()
    code = code if code is not None else cache.code_stamp(_code_folders())
    h.update(f"format {FORMAT}\0code {code}\0root {root}\n".encode())
    h.update(cache.digest(dict(raw)).encode() + b"\n")
    h.update(f"stack file {stack_file}\0".encode() + cache.file_content(stack_file) + b"\n")
    manifest = raw.get("manifest")
    for path in manifest_paths(root, [manifest] if isinstance(manifest, str) and manifest else []):
        h.update(f"manifest {path}\0".encode() + cache.file_content(path) + b"\n")
    return h.hexdigest()


def entry_path(root: Optional[Path], stack: str) -> Optional[Path]:
    """The file that holds the plan of this project folder's stack (None: the cache is off)."""
    folder = cache.cache_dir()
    if folder is None:
        return None
    return folder / f"{hashlib.sha256(f'{root}{chr(0)}{stack}'.encode()).hexdigest()[:24]}.json"


def load(root: Optional[Path], stack: str, key: str) -> Optional[Plan]:
    """The cached plan for this key, or None (missing, another key, unreadable, or the cache is off)."""
    data = cache.read_json(entry_path(root, stack))
    try:
        if data.get("format") != FORMAT or data.get("key") != key:  # type: ignore[union-attr]
            return None
        return Plan.from_json(data["plan"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def store(root: Optional[Path], stack: str, key: str, plan: Plan) -> None:
    """Keep the plan (best effort: a cache that cannot be written only costs the next run its time)."""
    cache.write_json(entry_path(root, stack), {"format": FORMAT, "key": key, "plan": plan.to_json()})


def cached_plan(raw: Mapping[str, Any], root: Optional[Path], stack: str, stack_file: Path,
                build: Callable[[], Plan], cacheable: bool = True) -> Plan:
    """The plan ``build()`` returns for these inputs: from the cache when it holds it, else built (an error
    ``build`` raises is not cached) and stored. ``cacheable=False`` (a secret setting) always builds."""
    if not cacheable or cache.cache_dir() is None:
        return build()
    key = plan_key(raw, root, stack_file)
    plan = load(root, stack, key)
    if plan is None:
        plan = build()
        store(root, stack, key, plan)
    return plan
