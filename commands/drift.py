"""``cwroles drift``: every stack of the project against its live tenant, read-only, with reports.

    cwroles drift                      # every stack of the project (same as --all)
    cwroles drift --stack acme-mobius --stack acme-msp-process
    cwroles drift --all --markdown drift.md --json drift.json --sarif drift.sarif --html drift.html

Exit code: 0 every stack clean; 2 drift or not converged; 1 an error (a stack that could not be judged).
See docs/drift.md for the verdicts, the JSON schema and the CI workflows.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from cwroles import __version__

from ._common import console, fail
from ._reports import Item, Report, Status, Subject, html, json_document, markdown, print_table, sarif, write_json, write_text

JSON_SCHEMA = "cwroles-drift"
JSON_VERSION = 1
DEFAULT_CHECKLISTS = Path(".cwroles") / "drift"

STATUSES = (
    Status("clean", "clean", "✅", "green", "none", 0, "#1a7f37"),
    Status("not_converged", "not converged", "🟡", "yellow", "warning", 1, "#9a6700"),
    Status("drift", "drift", "🔶", "bold magenta", "error", 2, "#bc4c00"),
    Status("error", "error", "❌", "bold red", "error", 3, "#cf222e"),
)
RULES = {
    "drift/level": "A permission level was changed in ConnectWise since cwroles last recorded it",
    "drift/allow-list": "A Customize allow-list entry differs from the code in ConnectWise",
    "drift/role": "The security role was changed or deleted in ConnectWise",
    "drift/api-member": "The API member was changed, deactivated or deleted in ConnectWise",
    "drift/resource": "A managed object is missing in ConnectWise",
    "pending/level": "A setting of the last checklist is not applied in ConnectWise yet",
    "pending/allow-list": "An allow-list entry of the last checklist is not applied yet",
    "pending/resource": "The last `pulumi up` stopped at the checklist",
    "code/level": "The code's level changed since the last `pulumi up`",
    "code/allow-list": "The code's allow-list changed since the last `pulumi up`",
    "code/config": "The stack's code or config changed since the last `pulumi up`",
    "code/resource": "`pulumi up` would create or delete a resource",
    "code/role": "The code changed the security role",
    "code/api-member": "The code changed the API member",
    "error": "The stack could not be judged (state, config or tenant unreadable, or the wrong tenant)",
}
CAUSE_NOTES = {"drift": "changed in ConnectWise", "pending": "checklist not applied", "code": "code changed"}


def _exit_code(results) -> int:
    verdicts = {r.verdict.value for r in results}
    if "error" in verdicts or not results:
        return 1
    if verdicts & {"drift", "not_converged"}:
        return 2
    return 0


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path.resolve())


def _tenant_label(r) -> str:
    return r.tenant.label if r.tenant else "(tenant unknown)"


def build_report(results, project: str, root: Path, checklist_files: dict[str, Path]) -> Report:
    subjects = []
    for r in results:
        data = r.to_json()
        data["checklist"] = _rel(checklist_files[r.tenant.slug], root) if r.checklist and r.tenant and r.tenant.slug in checklist_files else None
        items = [Item(rule=f"{f.cause}/{f.kind}", where=f.where, message=f.message, was=f.was, now=f.now, code=f.code,
                      note=CAUSE_NOTES.get(f.cause, f.cause)) for f in r.findings]
        subjects.append(Subject(name=r.stack, status=r.verdict.value, group=(_tenant_label(r), r.title or r.integration or "—"),
                                summary=r.summary, fix=r.fix, items=items, location=r.config_file, data=data))
    notes = [f"checklist for {t}: {_rel(p, root)}" for t, p in sorted(checklist_files.items())]
    return Report(tool="cwroles drift", title=f"cwroles drift: project {project}", statuses=STATUSES,
                  subjects=subjects, group_names=("tenant", "integration"), subject_name="stack", version=__version__,
                  rules=RULES, notes=notes)


def write_checklists(results, folder: Path, generated: dt.datetime) -> dict[str, Path]:
    """One Markdown checklist per tenant that restores the code's levels (and removes stale ones)."""
    by_tenant: dict[str, list] = {}
    tenants = {}
    for r in results:
        if r.tenant is None:
            continue
        tenants[r.tenant.slug] = r.tenant
        if r.checklist:
            by_tenant.setdefault(r.tenant.slug, []).append(r)
    written: dict[str, Path] = {}
    for slug, tenant in tenants.items():
        path = folder / f"{slug}.md"
        if slug not in by_tenant:
            judged = all(r.verdict.value != "error" for r in results if r.tenant and r.tenant.slug == slug)
            if judged and path.exists():
                path.unlink()  # that tenant matches the code now: an old checklist would only mislead
            continue
        parts = [f"# cwroles drift: restore the code's levels in ConnectWise company {tenant.company_id}",
                 "", f"Tenant: {tenant.label} · swept {generated.isoformat()} by `cwroles drift`.",
                 "Apply each role's list in ConnectWise PSA, then run `cwroles drift` again: the stacks turn clean.", ""]
        for r in sorted(by_tenant[slug], key=lambda r: r.stack):
            parts += ["---", "", f"Stack `{r.stack}` ({r.title or r.integration}):", "", r.checklist.rstrip(), ""]
        written[slug] = write_text(path, "\n".join(parts))
    return written


def drift(
    stack: Optional[list[str]] = typer.Option(
        None, "--stack", "-s", help="A stack to check (repeat for more). Default: every stack of the project."),
    all_stacks: bool = typer.Option(False, "--all", help="Check every stack of the project (the default without --stack)."),
    parallel: int = typer.Option(8, "--parallel", "-p", min=1, max=64, help="How many stacks to read at the same time."),
    markdown_path: Optional[Path] = typer.Option(None, "--markdown", help="Write a Markdown report (PR comment, ticket) here."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the JSON report (schema cwroles-drift v1, docs/drift.md) here."),
    sarif_path: Optional[Path] = typer.Option(None, "--sarif", help="Write a SARIF 2.1.0 report (code scanning) here."),
    html_path: Optional[Path] = typer.Option(None, "--html", help="Write a self-contained HTML page, grouped by tenant and integration, here."),
    checklists: Optional[Path] = typer.Option(
        None, "--checklists", help="Folder for the per-tenant checklists that restore the code's levels "
        "(default: .cwroles/drift in the project)."),
    customize: bool = typer.Option(
        False, "--customize", help="Also read the Customize allow-lists (impersonates each API member: 2 more "
        "requests per stack; pulumi preview --refresh cannot see them)."),
    directory: Path = typer.Option(Path("."), "--dir", help="The Pulumi project directory (where Pulumi.yaml is)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines (the table and the exit code stay)."),
) -> None:
    """Check every stack against its live tenant, changing nothing: clean, drift, not converged or error."""
    from cwroles.stacks.drift import sweep
    from cwroles.stacks.state import StateError, Workspace

    if stack and all_stacks:
        fail("use either --stack (the stacks named) or --all (every stack), not both", code=1)
    try:
        ws = Workspace(directory)
        known = ws.stacks()
    except StateError as e:
        fail(f"{e.message} {e.fix}".strip(), code=1)
    wanted = list(dict.fromkeys(stack or []))
    if wanted:
        by_short = {k.rsplit("/", 1)[-1]: k for k in known}
        unknown = [s for s in wanted if s not in known and s not in by_short]
        if unknown:
            fail(f"no stack {', '.join(map(repr, unknown))} in {ws.backend} (project {ws.project}); "
                 f"its stacks: {', '.join(known) or 'none'}", code=1)
        names = [s if s in known else by_short[s] for s in wanted]
    else:
        names = known
    if not names:
        fail(f"the project {ws.project} has no stacks in {ws.backend}: nothing to check. "
             "Create one with `pulumi stack init <tenant>-<integration>` (see docs/stacks.md).", code=1)

    progress = Console(stderr=True, highlight=False)
    width = len(str(len(names)))
    count = {"n": 0}
    started = time.perf_counter()
    if not quiet:
        progress.print(f"cwroles drift: {len(names)} stack{'s' if len(names) != 1 else ''} of project {ws.project} "
                       f"({ws.backend}), {parallel} at a time, read-only", markup=False)

    def on_result(r) -> None:
        count["n"] += 1
        if quiet:
            return
        st = {s.key: s for s in STATUSES}[r.verdict.value]
        line = Text(f"[{count['n']:>{width}}/{len(names)}] {r.stack}: ")
        line.append(st.label, style=st.style)
        line.append(f" — {r.summary} ({r.seconds:.1f} s)")
        progress.print(line, soft_wrap=True)

    results = sweep(ws, names, parallel=parallel, customize=customize, on_result=on_result)
    code = _exit_code(results)
    generated = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    folder = checklists if checklists is not None else ws.root / DEFAULT_CHECKLISTS
    written = write_checklists(results, folder, generated)
    report = build_report(results, ws.project, ws.root, written)
    report.generated = generated
    out = console if console.is_terminal else Console(width=160, highlight=False)  # CI logs: no 80-column wrap
    print_table(report, out)
    for slug, path in sorted(written.items()):
        out.print(f"Checklist for {slug}: {path}", highlight=False, markup=False, soft_wrap=True)

    outputs: list[Path] = []
    if markdown_path:
        outputs.append(write_text(markdown_path, markdown(report)))
    if json_path:
        extra = {"project": ws.project, "backend": ws.backend,
                 "checklists": [{"tenant": slug, "path": _rel(p, ws.root)} for slug, p in sorted(written.items())],
                 "requests": round(sum(r.requests for r in results), 2),
                 "seconds": round(time.perf_counter() - started, 3)}
        outputs.append(write_json(json_path, json_document(report, JSON_SCHEMA, JSON_VERSION, "stacks", extra, code)))
    if sarif_path:
        outputs.append(write_json(sarif_path, sarif(report)))
    if html_path:
        outputs.append(write_text(html_path, html(report)))
    for p in outputs:
        out.print(f"Report: {p}", highlight=False, markup=False, soft_wrap=True)
    if not quiet:
        progress.print(f"done in {time.perf_counter() - started:.1f} s; exit {code} "
                       "(0 clean, 2 drift or not converged, 1 error)", markup=False)
    raise typer.Exit(code)

