"""``cwroles policy-pack DIR``: write a Pulumi policy pack directory that serves the installed cwroles policies.

The repository's own ``policies/`` folder is a pack for the repository (its PulumiPolicy.yaml names the
repository's ``.venv``). Someone who installed cwroles with pip gets the rules inside the package and this
command to write a pack directory next to their project, wired to the virtualenv cwroles is installed in.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
import yaml

from cwroles import __version__

from ._common import console, fail, print_commands

MARKER = "# Written by `cwroles policy-pack`"
MAIN = '''{marker} (cwroles {version}); run it again after upgrading cwroles.
"""Serves the cwroles policy pack from the installed package (rules: cwroles.policies.rules)."""

import runpy
import sys

try:
    import cwroles.policies  # noqa: F401
except ImportError:
    sys.exit(f"cwroles policy pack: the Python running it ({{sys.executable}}) has no cwroles; install cwroles "
             "into the virtualenv named in PulumiPolicy.yaml, or run `cwroles policy-pack` again from it.")
runpy.run_module("cwroles.policies", run_name="__main__", alter_sys=True)
'''


def _virtualenv_for(pack: Path) -> str | None:
    """The virtualenv this cwroles runs in (None outside one): relative to the pack when both sit in one
    project (so the pack can be committed), absolute otherwise."""
    if sys.prefix == sys.base_prefix:
        return None
    venv = Path(sys.prefix).resolve()
    try:
        relative = os.path.relpath(venv, pack.resolve())
    except ValueError:  # another drive (Windows)
        return str(venv)
    return relative if Path(relative).parts[:3].count("..") < 3 else str(venv)


def policy_pack(
    directory: Path = typer.Argument(..., help="Directory to write the pack to (created if missing), e.g. cwroles-policy"),
) -> None:
    """Write a policy pack directory for `pulumi preview --policy-pack DIR`, served by this installed cwroles."""
    main, spec = directory / "__main__.py", directory / "PulumiPolicy.yaml"
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} exists and is not a directory; choose another path")
    if main.exists() and not main.read_text(encoding="utf-8").startswith(MARKER):
        fail(f"{main} exists and was not written by `cwroles policy-pack`; choose an empty or new directory")
    directory.mkdir(parents=True, exist_ok=True)
    venv = _virtualenv_for(directory)
    options = {"virtualenv": venv} if venv else {}
    doc = {
        "runtime": {"name": "python", **({"options": options} if options else {})},
        "version": __version__,
        "description": "cwroles PR gate for ConnectWise PSA security roles and API members",
    }
    header = (f"{MARKER} (cwroles {__version__}): the rules come from the installed cwroles package.\n"
              + ("" if venv else "# No virtualenv: Pulumi runs the pack with python3 from PATH, which needs cwroles.\n"))
    spec.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    main.write_text(MAIN.format(marker=MARKER, version=__version__), encoding="utf-8")
    console.print(f"Wrote the cwroles policy pack {__version__} to {directory}"
                  + (f" (virtualenv {venv})." if venv else " (no virtualenv: python3 on PATH must have cwroles)."),
                  highlight=False, markup=False, soft_wrap=True)
    print_commands([f"pulumi preview --policy-pack {directory}"], title="Use it:")
