"""``cwroles provider-plugin DIR``: write cwroles' launcher for Pulumi's Python dynamic-provider plugin.

Pulumi's own launcher (``pulumi-resource-pulumi-python``, shipped next to the CLI) cannot import a
dynamic resource (pulumi/pulumi#16175: ``import_`` and ``pulumi import`` fail with '__provider').
cwroles' launcher runs the same upstream server with the fix in ``cwroles.provider._dynamic_host``.
A project picks it up through Pulumi.yaml's ``plugins.providers`` entry, which the engine prefers
over the launcher next to the CLI.
"""

from __future__ import annotations

import stat
from importlib import resources
from pathlib import Path

import typer
import yaml

from ._common import console, fail

LAUNCHER = "pulumi-resource-pulumi-python"


def launcher_text() -> str:
    return (resources.files("cwroles.provider") / LAUNCHER).read_text(encoding="utf-8")


def provider_plugin(
    directory: Path = typer.Argument(..., help="Directory for the launcher, relative to your Pulumi.yaml, e.g. plugins/pulumi-python"),
) -> None:
    """Write the dynamic-provider launcher that makes import_ of cwroles resources work; prints the Pulumi.yaml entry."""
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} exists and is not a directory; choose another path")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / LAUNCHER
    target.write_text(launcher_text(), encoding="utf-8")
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if _named_in_pulumi_yaml(directory):
        console.print(f"Wrote {target}; Pulumi.yaml already names it.", highlight=False, markup=False, soft_wrap=True)
        return
    console.print(f"Wrote {target}. Add this to your Pulumi.yaml (path relative to it):", highlight=False,
                  markup=False, soft_wrap=True)
    for line in ("plugins:", "  providers:", "    - name: pulumi-python", f"      path: {directory.as_posix()}"):
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)


def _named_in_pulumi_yaml(directory: Path) -> bool:
    """Whether ./Pulumi.yaml already has a plugins.providers entry for pulumi-python at ``directory``."""
    project = Path("Pulumi.yaml")
    try:
        doc = yaml.safe_load(project.read_text(encoding="utf-8")) or {}
        entries = ((doc.get("plugins") or {}).get("providers") or []) if isinstance(doc, dict) else []
        return any(isinstance(e, dict) and e.get("name") == "pulumi-python" and e.get("path")
                   and (project.parent / str(e["path"])).resolve() == directory.resolve() for e in entries)
    except (OSError, yaml.YAMLError, AttributeError):
        return False
