"""Where a Pulumi project keeps what cwroles reads: its folder, and the manifest files of its own.

Standard library only: the stack program uses it on every operation before it knows whether it must
load the manifests at all (see ``cwroles.stacks.plan_cache``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

PROJECT_FOLDER = "integrations"  # beside Pulumi.yaml
MANIFEST_SUFFIXES = (".yaml", ".yml")


def find_project_root(start: Optional[Path] = None) -> Optional[Path]:
    """The nearest folder at or above ``start`` (default: the working directory) holding Pulumi.yaml."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "Pulumi.yaml").is_file() or (d / "Pulumi.yml").is_file():
            return d
    return None


def folder_manifests(root: Path) -> list[Path]:
    """The manifest files in the project's ``integrations/`` folder, in name order."""
    folder = root / PROJECT_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in MANIFEST_SUFFIXES and p.is_file())


def project_path(root: Optional[Path], path: str | Path) -> Path:
    """A manifest path as stack config or a command names it: relative to the project folder."""
    return (root / path) if root is not None and not Path(path).is_absolute() else Path(path)


def manifest_paths(root: Optional[Path], extra: Iterable[str | Path] = ()) -> list[Path]:
    """The files a project's manifests are read from: ``integrations/*.yaml`` and the ``extra`` paths."""
    return [*(folder_manifests(root) if root is not None else []), *(project_path(root, p) for p in extra)]
