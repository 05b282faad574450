"""A throw-away Pulumi project driven with the pinned CLI: one home for the engine tests, the
benchmarks and the demo. A repository tool, not part of the installed package.

Each project has its own file backend, PULUMI_HOME and passphrase inside its directory; the program
and the dynamic providers run in the repository's virtualenv.
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
PINNED = "v3.274.1"  # the CLI; the SDK pin (pyproject.toml) may be older: docs/pulumi-cli.md


class EngineMissing(RuntimeError):
    """The pinned CLI (with its Python language host) is not installed."""


def pulumi_bin_dir() -> Path:
    """The directory of the pinned CLI: recorded in .cwroles/pulumi-bin by `make setup`, else PATH."""
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
    raise EngineMissing(f"the Pulumi CLI {PINNED} with its Python language host is not installed; run `make setup`")


def pulumi_yaml(name: str) -> str:
    return textwrap.dedent(f"""\
        name: {name}
        runtime:
          name: python
          options:
            toolchain: pip
            virtualenv: {VENV}
        """)


@dataclass
class Project:
    root: Path
    name: str = "cwtest"
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, program: str, name: str = "cwtest", passphrase: str = "cwroles-test") -> "Project":
        """A project whose program is ``program`` (Python source)."""
        return cls._make(root, textwrap.dedent(program), pulumi_yaml(name), name, passphrase)

    @classmethod
    def repo_program(cls, root: Path, passphrase: str = "cwroles-test") -> "Project":
        """The repository's own program (__main__.py → stacks.main) and Pulumi.yaml."""
        yaml = (REPO / "Pulumi.yaml").read_text().replace("virtualenv: .venv", f"virtualenv: {VENV}")
        return cls._make(root, (REPO / "__main__.py").read_text(), yaml, "cwroles", passphrase)

    @classmethod
    def _make(cls, root: Path, program: str, yaml: str, name: str, passphrase: str) -> "Project":
        root.mkdir(parents=True, exist_ok=True)
        (root / "Pulumi.yaml").write_text(yaml)
        (root / "__main__.py").write_text(program)
        (root / ".state").mkdir(exist_ok=True)
        (root / ".home").mkdir(exist_ok=True)
        bindir = pulumi_bin_dir()
        env = {
            "PATH": f"{bindir}{os.pathsep}{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_BACKEND_URL": f"file://{root / '.state'}",
            "PULUMI_HOME": str(root / ".home"),
            "PULUMI_CONFIG_PASSPHRASE": passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "CWROLES_PLAN_CACHE": str(root / ".plan-cache"),  # the program's plan cache, gone with the project
        }
        return cls(root=root, name=name, env=env)

    def stack(self, stack_name: str = "test", config: Mapping[str, Any] | None = None) -> auto.Stack:
        opts = auto.LocalWorkspaceOptions(work_dir=str(self.root), env_vars=self.env,
                                          pulumi_command=auto.PulumiCommand(root=str(pulumi_bin_dir().parent)))
        stack = auto.create_or_select_stack(stack_name, work_dir=str(self.root), opts=opts)
        if config:
            stack.set_all_config({k: v if isinstance(v, auto.ConfigValue)
                                  else auto.ConfigValue(json.dumps(v) if isinstance(v, (list, dict)) else str(v))
                                  for k, v in config.items()})
        return stack

    def cli(self, *args: str, stack: str = "test", check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the pulumi CLI itself in the project directory, as a user would."""
        return subprocess.run(["pulumi", *args, "--stack", stack, "--non-interactive"], cwd=self.root,
                              env={**os.environ, **self.env}, capture_output=True, text=True, check=check)

    def checklist(self, role: str, stack: str = "test", company_id: str = "cwroles") -> Path:
        """Where `pulumi up` writes the checklist of ``role`` for ``stack`` (default checklist_dir)."""
        return self.root / ".cwroles" / "checklists" / stack / company_id / f"{role}.md"

    def checklists(self) -> list[Path]:
        """Every checklist file in the project (default checklist_dir)."""
        return sorted((self.root / ".cwroles" / "checklists").rglob("*.md"))

    def state_files(self) -> list[Path]:
        """The stacks' checkpoint files in the file backend (no backups/history)."""
        return sorted(p for p in (self.root / ".state" / ".pulumi" / "stacks").rglob("*.json") if p.is_file())


def outputs(stack: auto.Stack) -> dict[str, Any]:
    return {k: v.value for k, v in stack.outputs().items()}


def resources(stack: auto.Stack, type_token: str) -> list[dict[str, Any]]:
    """Resources of one type as recorded in the stack's state (after a refresh, the refreshed values)."""
    return [r for r in stack.export_stack().deployment.get("resources", []) if r.get("type") == type_token]


def tenant_config(sim: Any, private_key: str | None = None, max_retries: int = 1) -> dict[str, Any]:
    """Stack config pointing the provider at an emulator (``cwsim.testing.SimServer``); key as a secret."""
    return {
        "connectwise:site": sim.url,
        "connectwise:companyId": sim.company_id,
        "connectwise:clientId": sim.client_id,
        "connectwise:publicKey": sim.public_key,
        "connectwise:privateKey": auto.ConfigValue(private_key or sim.private_key, secret=True),
        "connectwise:maxRetries": str(max_retries),
    }
