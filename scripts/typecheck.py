#!/usr/bin/env python3
"""mypy on the core (cwroles/) and the provider (provider/, installed as cwroles.provider).

pyproject maps repository folders into the one installed name (provider/ -> cwroles.provider), and mypy
cannot follow the import hook of an editable install. So this links the two folders into a package tree
under build/typecheck/ and checks that, reporting the repository's own paths. Only the core and the provider
are linked: an import of another part of cwroles (stacks, cwsim, ...) from them is reported as an error, which
keeps the house's layering (the core imports no consumer, the provider only the core).

Usage: scripts/typecheck.py [extra mypy arguments]   (exit status is mypy's)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "build" / "typecheck"
# installed module path -> repository folder
LINKED = {"cwroles": REPO / "cwroles", "cwroles/provider": REPO / "provider"}


def link_tree() -> None:
    shutil.rmtree(TREE, ignore_errors=True)
    for package, folder in LINKED.items():
        target = TREE / package
        target.mkdir(parents=True, exist_ok=True)
        for src in sorted(folder.glob("*.py")):
            (target / src.name).symlink_to(src)


def main(argv: list[str]) -> int:
    link_tree()
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"),
           "-p", "cwroles", *argv]
    proc = subprocess.run(cmd, cwd=TREE, capture_output=True, text=True, check=False)
    # mypy names the linked files; show the repository's paths instead
    out = proc.stdout + proc.stderr
    for package, folder in sorted(LINKED.items(), key=lambda kv: -len(kv[0])):
        out = out.replace(package + "/", os.path.relpath(folder, Path.cwd()) + "/")
    sys.stdout.write(out)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
