"""`make demo`: the three vendor stacks end to end against a fresh emulator, narrated.

1. start the emulator with a fresh tenant;
2. `pulumi up` each stack: role and API member are created, the permission grid cannot be written
   through the API, so the step fails with a checklist;
3. the admin applies each checklist in the emulator's console (as in ConnectWise's UI);
4. `pulumi up` is green;
5. someone widens a role by hand; `pulumi preview --refresh` shows the drift;
6. a plain `pulumi up` (it reads the live tenant every time) says what to set back.

Everything runs in `.cwroles/demo/` (its own Pulumi file backend) and `.cwsim/demo.sqlite`, both
git-ignored and kept afterwards for inspection. The emulator started here is stopped at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from cwroles import emulator_defaults as D
from cwroles.cwsim.console_client import Applied, apply_checklist

# A repository tool, not part of the installed package: it runs from the checkout (`make demo`) and
# shares the engine tests' throw-away projects.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.sandbox import EngineMissing, Project

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".cwroles" / "demo"
DB = REPO / ".cwsim" / "demo.sqlite"
STACKS = {  # stack → features switched on for the demo
    "msp-process": ["time-entries"],
    "mobius": ["custom-menu-entry"],
    "managed-backup": [],
}
DRIFT = {"stack": "msp-process", "role": "MSP Process", "module": "System", "function": "Member Maintenance",
         "level": "edit", "to": "All"}

console = Console(highlight=False)


class DemoError(RuntimeError):
    pass


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _pick_port() -> int:
    if _free(D.PORT):
        return D.PORT
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step(n: int, title: str) -> None:
    console.print()
    console.rule(f"[bold cyan]{n}. {title}")


class Demo:
    def __init__(self) -> None:
        self.port = _pick_port()
        self.site = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = {}

    # ---- emulator -------------------------------------------------------------------------
    def start_emulator(self) -> dict:
        DB.parent.mkdir(parents=True, exist_ok=True)
        for p in DB.parent.glob(DB.name + "*"):
            p.unlink()
        log = open(WORK / "cwsim.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cwroles.cwsim.cli", "serve", "--port", str(self.port), "--db", str(DB)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.site}/_cwsim/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise DemoError(f"the emulator did not start; see {WORK / 'cwsim.log'}")
            time.sleep(0.1)
        companies = httpx.get(f"{self.site}/_cwsim/companies").json()
        company = next(c for c in (companies.get("companies", companies) if isinstance(companies, dict) else companies)
                       if (c.get("companyId") or c.get("company_id")) == D.COMPANY_ID)
        return company

    def stop_emulator(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def console_api(self, method: str, path: str, **kw) -> dict:
        r = httpx.request(method, f"{self.site}/console/api/{D.COMPANY_ID}{path}", timeout=10, **kw)
        if r.status_code >= 400:
            raise DemoError(f"console {method} {path}: {r.status_code} {r.text}")
        return r.json() if r.content else {}

    def role_id(self, name: str) -> int:
        roles = self.console_api("GET", "/roles")
        roles = roles.get("roles", roles) if isinstance(roles, dict) else roles
        for r in roles:
            if r["name"] == name:
                return r["id"]
        raise DemoError(f"role {name!r} not found in the emulator")

    # ---- pulumi -----------------------------------------------------------------------------
    def pulumi(self, *args: str, stack: str, expect_fail: bool = False, show=None) -> str:
        cmd = ["pulumi", *args, "-s", stack]
        console.print(f"[bold]$ {' '.join(cmd)}[/]")
        t0 = time.monotonic()
        out = subprocess.run(cmd + ["--non-interactive", "--color", "never"], cwd=WORK, env=self.env,
                             capture_output=True, text=True)
        text = out.stdout + out.stderr
        failed = out.returncode != 0
        lines = [ln.strip() for ln in text.splitlines() if show(ln)] if show else _summary(text)
        for ln in _dedupe(lines)[:40]:
            console.print(f"  [dim]│[/] {ln.strip()}")
        verdict = "[red]failed[/]" if failed else "[green]ok[/]"
        console.print(f"  [dim]└ {verdict} in {time.monotonic() - t0:.1f} s[/]")
        if failed != expect_fail:
            (WORK / "last-pulumi-output.txt").write_text(text)
            raise DemoError(f"`{' '.join(cmd)}` {'failed' if failed else 'succeeded'} unexpectedly; "
                            f"full output in {WORK / 'last-pulumi-output.txt'}")
        return text

    def prepare_project(self, company: dict) -> None:
        project = Project.repo_program(WORK, passphrase="cwroles-demo")
        self.env = {k: v for k, v in {**os.environ, **project.env}.items() if not k.startswith("CONNECTWISE_")}
        self.env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
        client_id = company.get("clientId") or company.get("client_id") or D.CLIENT_ID
        public = company.get("bootstrapPublicKey") or company.get("bootstrap_public") or D.ADMIN_PUBLIC_KEY
        private = company.get("bootstrapPrivateKey") or company.get("bootstrap_private") or D.ADMIN_PRIVATE_KEY
        for stack, features in STACKS.items():
            run = lambda *a, stack=stack: subprocess.run(["pulumi", *a, "-s", stack, "--non-interactive"], cwd=WORK,
                                            env=self.env, capture_output=True, text=True, check=True)
            subprocess.run(["pulumi", "stack", "init", stack, "--non-interactive"], cwd=WORK, env=self.env,
                           capture_output=True, text=True, check=True)
            run("config", "set", "cwroles:integration", stack)
            for i, f in enumerate(features):
                run("config", "set", "--path", f"cwroles:features[{i}]", f)
            run("config", "set", "connectwise:site", self.site)
            run("config", "set", "connectwise:companyId", D.COMPANY_ID)
            run("config", "set", "connectwise:clientId", client_id)
            run("config", "set", "connectwise:publicKey", public)
            run("config", "set", "--secret", "connectwise:privateKey", private)

    # ---- the admin at the console -------------------------------------------------------------
    def apply_checklist(self, path: Path) -> Applied:
        return apply_checklist(f"{self.site}/console/api/{D.COMPANY_ID}", path.stem, path.read_text())

    # ---- the story ----------------------------------------------------------------------------
    def run(self) -> None:
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        console.print(Panel.fit(
            "cwroles demo: ConnectWise PSA security roles and API members as code.\n"
            "Three vendor integrations (MSP Process, Mobius, MSP360 Managed Backup) against the bundled emulator.",
            border_style="cyan"))
        step(1, "Start the ConnectWise PSA emulator with a fresh tenant")
        company = self.start_emulator()
        console.print(f"  emulator on {self.site}  (console: {self.site}/console/{D.COMPANY_ID}, db: {DB.relative_to(REPO)})")
        self.prepare_project(company)
        console.print(f"  stacks {', '.join(STACKS)} in {WORK.relative_to(REPO)}: Pulumi state "
                      f"{self.env.get('PULUMI_BACKEND_URL')} (passphrase secrets; your global login is untouched)")

        step(2, "pulumi up: roles and API members are created; the grid needs the admin")
        checklists = WORK / ".cwroles" / "checklists"  # <stack>/<company id>/<role>.md
        for stack in STACKS:
            self.pulumi("up", "--yes", "--skip-preview", stack=stack, expect_fail=True)
        found = sorted(checklists.rglob("*.md"))
        console.print(f"  checklists written: {', '.join(str(p.relative_to(REPO)) for p in found)}")
        if len(found) != len(STACKS):
            raise DemoError(f"expected {len(STACKS)} checklists in {checklists}, found {len(found)}")

        step(3, "The admin applies each checklist in System › Security Roles (the emulator console)")
        for path in found:
            done = self.apply_checklist(path)
            console.print(f"  “{path.stem}”: set {done.levels} levels, moved {done.moves} Customize entries")

        step(4, "pulumi up again: green, because ConnectWise now matches the code")
        for stack in STACKS:
            self.pulumi("up", "--yes", "--skip-preview", stack=stack)
        out = self.pulumi("stack", "output", "next_step", stack="mobius", show=lambda ln: bool(ln.strip()))
        del out

        step(5, "Someone widens a role behind the code's back")
        rid = self.role_id(DRIFT["role"])
        self.console_api("POST", f"/roles/{rid}/settings", json={"settings": [
            {"module": DRIFT["module"], "function": DRIFT["function"], DRIFT["level"]: DRIFT["to"]}]})
        console.print(f"  console: “{DRIFT['role']}” › {DRIFT['module']} › {DRIFT['function']} › "
                      f"{DRIFT['level'].title()} set to {DRIFT['to']}")
        self.pulumi("preview", "--refresh", "--expect-no-changes", "--diff", stack=DRIFT["stack"], expect_fail=True)

        step(6, "A plain pulumi up reads the live tenant and reports exactly what to set back")
        self.pulumi("up", "--yes", "--skip-preview", stack=DRIFT["stack"], expect_fail=True)

        step(7, "The review gate: the policy pack on the three stacks as published")
        for stack in STACKS:
            self.pulumi("preview", "--policy-pack", str(REPO / "policies"), stack=stack,
                        show=lambda ln: any(k in ln for k in ("advisory", "mandatory", "Policies", "✅", "⚠", "❌")))

        table = Table(title="What happened", show_lines=False)
        for col in ("stack", "role", "first up", "after checklist", "drift"):
            table.add_column(col)
        for stack in STACKS:
            table.add_row(stack, _role_of(stack), "checklist", "green", "reported" if stack == DRIFT["stack"] else "none")
        console.print()
        console.print(table)


def _role_of(stack: str) -> str:
    from cwroles.manifest import load_manifest

    return load_manifest(stack).role.name


_DONE = re.compile(r"^[+~-]\s+(\S+)\s+(\S+)\s+(created|updated|deleted|replaced)\b")
_ITEM = re.compile(r"^- \S.*›.*: (set|allow|disallow) ")


def _summary(text: str) -> list[str]:
    """What a reader needs from pulumi's output: resources changed, the error, the checklist, the totals."""
    out: list[str] = []
    items: list[str] = []
    error_shown = False
    lines = [ln.strip() for ln in text.splitlines()]
    for i, ln in enumerate(lines):
        if m := _DONE.match(ln):
            kind = m.group(1).rsplit(":", 1)[-1]
            if kind != "Stack":
                out.append(f"{m.group(3)} {kind} {m.group(2)}")
        elif ln.startswith("error: Exception calling application:") and not error_shown:
            out.append("error: " + ln.split("application: ", 1)[1])
            error_shown = True
        elif _ITEM.match(ln) and error_shown:  # the error's checklist items: levels and Customize moves
            items.append(ln)
        elif ln.startswith(("+ [", "~ drift", "~ 1 to update", "error: no changes were expected")):
            out.append(ln)
        elif ln.startswith("Resources:"):
            out.append("Resources: " + ", ".join(x for x in lines[i + 1:i + 4] if x and x[0] in "+~-0123456789"))
    shown = items[:8]
    out += shown
    if len(items) > len(shown):
        out.append(f"… and {len(items) - len(shown)} more (all of them in the checklist file)")
    return out


def _dedupe(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    return [ln for ln in lines if ln and not (ln in seen or seen.add(ln))]


def main() -> int:
    demo = Demo()
    t0 = time.monotonic()
    try:
        demo.run()
    except (DemoError, EngineMissing) as e:
        console.print(f"[bold red]demo stopped:[/] {e}")
        return 1
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return 130
    finally:
        demo.stop_emulator()
    console.print(f"\n[bold green]Demo finished in {time.monotonic() - t0:.0f} s.[/] Emulator stopped; its database "
                  f"is {DB.relative_to(REPO)}, the stacks' state {WORK.relative_to(REPO)}/.state.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
