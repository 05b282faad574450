"""Run the GitHub Actions workflows that docs/drift.md gives, as GitHub would run their `run:` steps.

The workflows are taken from the page itself (a ```yaml block whose first line is
``# .github/workflows/<name>.yml``), so the page and the tests cannot drift apart. Each `run:` step runs
with ``bash -eo pipefail`` (GitHub's default shell) in the given directory, with the job's ``env``, a
``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` file, and ``${{ … }}`` expressions replaced from the values
the test gives (an expression the test does not know fails the test). After a failing step only steps with
``if: always()…`` run, as on GitHub. ``uses:`` steps are returned for the test to check (the files an
upload names must exist).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

DOC = Path(__file__).resolve().parents[1] / "docs" / "drift.md"
_EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def workflow(name: str, doc: Path = DOC) -> dict[str, Any]:
    """The workflow ``.github/workflows/<name>.yml`` as written in ``doc``."""
    text = doc.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    for b in blocks:
        if b.startswith(f"# .github/workflows/{name}.yml"):
            return yaml.safe_load(b)
    raise AssertionError(f"{doc.name} has no ```yaml block starting with '# .github/workflows/{name}.yml'")


def substitute(text: str, values: dict[str, str]) -> str:
    def one(m: re.Match) -> str:
        key = m.group(1)
        if key not in values:
            raise AssertionError(f"the workflow uses ${{{{ {key} }}}}, which the test does not provide")
        return str(values[key])

    return _EXPR.sub(one, text)


@dataclass
class Step:
    name: str
    returncode: Optional[int] = None  # None: a `uses:` step, or skipped
    stdout: str = ""
    stderr: str = ""
    uses: Optional[str] = None
    with_: dict[str, Any] = field(default_factory=dict)


def run_job(job: dict[str, Any], cwd: Path, env: dict[str, str], values: dict[str, str],
            skip: Callable[[dict[str, Any]], bool] = lambda step: False) -> list[Step]:
    values = dict(values)
    output, summary = cwd / ".github-output", cwd / ".github-step-summary"
    output.write_text("")
    summary.write_text("")
    job_env = {k: substitute(str(v), values) for k, v in (job.get("env") or {}).items()}
    steps: list[Step] = []
    failed = False
    for raw in job["steps"]:
        name = raw.get("name") or raw.get("uses") or raw.get("run", "").splitlines()[0]
        condition = str(raw.get("if", ""))
        if failed and "always()" not in condition:
            steps.append(Step(name))
            continue
        if "uses" in raw:
            steps.append(Step(name, uses=raw["uses"],
                              with_={k: substitute(str(v), values) for k, v in (raw.get("with") or {}).items()}))
            continue
        if skip(raw):
            steps.append(Step(name))
            continue
        step_env = {k: substitute(str(v), values) for k, v in (raw.get("env") or {}).items()}
        script = substitute(raw["run"], values)
        before = output.read_text()
        r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                           env={**os.environ, **env, **job_env, **step_env, "GITHUB_OUTPUT": str(output),
                                "GITHUB_STEP_SUMMARY": str(summary), "CI": "true"},
                           capture_output=True, text=True, timeout=900)
        steps.append(Step(name, r.returncode, r.stdout, r.stderr))
        if raw.get("id"):
            for line in output.read_text()[len(before):].splitlines():
                if "=" in line:
                    k, v = line.split("=", 1)
                    values[f"steps.{raw['id']}.outputs.{k}"] = v
        if r.returncode != 0:
            failed = True
    return steps


def fake_gh(bin_dir: Path) -> Path:
    """A `gh` stand-in: records its arguments and the body file it was asked to post."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text('#!/usr/bin/env bash\nset -e\nprintf "%s\\n" "$@" > gh-args.txt\n'
                  'while [ $# -gt 0 ]; do if [ "$1" = "--body-file" ]; then cp "$2" gh-comment.md; fi; shift; done\n')
    gh.chmod(0o755)
    return gh
