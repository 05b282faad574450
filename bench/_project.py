"""A throw-away Pulumi project driven through the Automation API with the pinned CLI.

Same recipe as the engine tests (tests/engine/harness.py), without pytest: its own file backend,
PULUMI_HOME and passphrase inside a temporary directory; the program and the dynamic providers run in
the repository's virtualenv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pulumi import automation as auto

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
PINNED = "v3.259.0"


class EngineMissing(RuntimeError):
    pass


def pulumi_bin_dir() -> Path:
    """The directory of the pinned CLI (recorded in .cwroles/pulumi-bin by `make setup`, else PATH)."""
    candidates: list[Path] = []
    recorded = REPO / ".cwroles" / "pulumi-bin"
    if recorded.exists():
        candidates.append(Path(recorded.read_text().strip()))
    found = shutil.which("pulumi")
    if found:
        candidates.append(Path(found).parent)
    for c in candidates:
        exe = c / "pulumi"
        if exe.exists() and (c / "pulumi-language-python").exists():
            out = subprocess.run([str(exe), "version"], capture_output=True, text=True,
                                 env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"})
            if out.stdout.strip() == PINNED:
                return c
    raise EngineMissing(f"the Pulumi CLI {PINNED} with its Python language host is not installed; run `make setup` "
                        "(or `python -m bench --quick` for the in-process benchmarks only)")


@dataclass
class Project:
    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, program: str, pulumi_yaml: str) -> "Project":
        root.mkdir(parents=True, exist_ok=True)
        (root / "Pulumi.yaml").write_text(pulumi_yaml)
        (root / "__main__.py").write_text(program)
        (root / ".state").mkdir(exist_ok=True)
        (root / ".home").mkdir(exist_ok=True)
        bindir = pulumi_bin_dir()
        env = {
            "PATH": f"{bindir}{os.pathsep}{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_BACKEND_URL": f"file://{root / '.state'}",
            "PULUMI_HOME": str(root / ".home"),
            "PULUMI_CONFIG_PASSPHRASE": "cwroles-bench",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        return cls(root=root, env=env)

    @classmethod
    def inline(cls, root: Path, program: str, name: str = "cwbench") -> "Project":
        yaml = textwrap.dedent(f"""\
            name: {name}
            runtime:
              name: python
              options:
                toolchain: pip
                virtualenv: {VENV}
            """)
        return cls.create(root, textwrap.dedent(program), yaml)

    @classmethod
    def repo_program(cls, root: Path) -> "Project":
        """The repository's own program (__main__.py → stacks.main) and Pulumi.yaml."""
        yaml = (REPO / "Pulumi.yaml").read_text().replace("virtualenv: .venv", f"virtualenv: {VENV}")
        return cls.create(root, (REPO / "__main__.py").read_text(), yaml)

    def stack(self, name: str, config: Mapping[str, Any] | None = None) -> auto.Stack:
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(self.root), env_vars=self.env,
            pulumi_command=auto.PulumiCommand(root=str(pulumi_bin_dir().parent)))
        stack = auto.create_or_select_stack(name, work_dir=str(self.root), opts=opts)
        if config:
            stack.set_all_config({k: v if isinstance(v, auto.ConfigValue)
                                  else auto.ConfigValue(json.dumps(v) if isinstance(v, (list, dict)) else str(v))
                                  for k, v in config.items()})
        return stack

    def state_files(self) -> list[Path]:
        """The stacks' checkpoint files in the file backend (no backups/history)."""
        return sorted(p for p in (self.root / ".state" / ".pulumi" / "stacks").rglob("*.json") if p.is_file())


def tenant_config(sim, max_retries: int = 1) -> dict[str, Any]:
    return {
        "connectwise:site": sim.url,
        "connectwise:companyId": sim.company_id,
        "connectwise:clientId": sim.client_id,
        "connectwise:publicKey": sim.public_key,
        "connectwise:privateKey": auto.ConfigValue(sim.private_key, secret=True),
        "connectwise:maxRetries": str(max_retries),
    }
