"""``cwroles manifest``: the integrations a project can use, what each grants, and checks for your own.

    cwroles manifest list
    cwroles manifest show msp-process --features time-entries
    cwroles manifest validate integrations/*.yaml      # exit 0 or 1: CI and pre-commit
    cwroles manifest new acme-rmm                       # integrations/acme-rmm.yaml, commented
    cwroles manifest schema > integrations/manifest.schema.json

The built-in manifests ship with cwroles; a project's own live in ``integrations/`` beside Pulumi.yaml
or at the path stack config ``cwroles:manifest`` names. Every problem is printed as
``file:line: error field: what; fix``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from cwroles.catalog import LEVEL_NAMES
from cwroles.grid import Level
from cwroles.manifest import (NAME_PATTERN, PROJECT_FOLDER, SCHEMA_FILE, Integrations, Manifest, ManifestFile,
                              find_project_root, json_schema, manifest_names)
from cwroles.problems import Problem

from ._common import console, err, fail, group, split_csv

app = group("The integrations a project can use: list, show, validate, new, schema.")

DIR_HELP = "The project folder (where Pulumi.yaml is); default: the nearest one above the working directory"


def _root(directory: Optional[Path]) -> Optional[Path]:
    if directory is not None:
        if not directory.is_dir():
            fail(f"--dir {directory}: no such folder")
        return directory
    return find_project_root()


def _problem_line(p: Problem) -> str:
    """``integrations/acme.yaml:12: error grants[3].function (Finance › Invoicing): …; fix``."""
    head = p.file or "stack config"
    if p.line:
        head += f":{p.line}"
    where = " ".join(x for x in (p.field, f"({p.label})" if p.label else "") if x)
    return f"{head}: {'error' if p.is_error else 'notice'}{' ' + where if where else ''}: {p.text()}"


def _print_problems(problems: list[Problem], notices: bool = True) -> None:
    for p in problems:
        if p.is_error:
            err.print(f"[red]{escape(_problem_line(p))}[/]", highlight=False, soft_wrap=True)
        elif notices:
            err.print(f"[yellow]{escape(_problem_line(p))}[/]", highlight=False, soft_wrap=True)


# ---- list ------------------------------------------------------------------------------------------
@app.command("list")
def manifest_list(directory: Optional[Path] = typer.Option(None, "--dir", help=DIR_HELP)) -> None:
    """The integrations cwroles knows here: built-in ones, then the project's own (a broken file is listed
    with its first error, never a crash)."""
    found = Integrations.discover(_root(directory))
    t = Table(title="Integrations")
    for col in ("integration", "vendor", "role", "API member", "grants", "features", "manifest"):
        t.add_column(col)
    broken: list[ManifestFile] = []
    for f in found.files:
        m = f.manifest
        if m is None or not f.ok:
            broken.append(f)
            first = f.errors[0] if f.errors else None
            t.add_row(f"[red]{escape(f.integration or Path(f.display).stem)}[/]", "[red]invalid[/]", "", "", "", "",
                      escape(f"{f.display} ({len(f.errors)} error(s); first: {first.text() if first else '?'})"))
            continue
        t.add_row(m.integration, escape(m.title), escape(m.role.name), escape(m.api_member.identifier),
                  str(len(m.grants_for(m.default_features()))), ", ".join(x.name for x in m.features) or "—",
                  "built-in" if f.builtin else escape(f.display))
    console.print(t)
    if broken:
        err.print(f"{len(broken)} manifest(s) have errors: run `cwroles manifest validate "
                  f"{' '.join(f.display for f in broken)}` for each problem with its line.", highlight=False)


# ---- show ------------------------------------------------------------------------------------------
def _load(name: str, root: Optional[Path]) -> ManifestFile:
    looks_like_path = name.endswith((".yaml", ".yml")) or "/" in name
    found = Integrations.discover(root, [name] if looks_like_path else [])
    f = found.by_path(name) if looks_like_path else found.get(name)
    if f is None:
        fail(f"unknown integration {name!r}; choose one of: {', '.join(found.names())} (or give a manifest's path)")
    if not f.ok:
        _print_problems(f.problems)
        fail(f"{f.display} has {len(f.errors)} error(s); fix them first (`cwroles manifest validate {f.display}`)", 1)
    return f


def _cell(level: Level, raised_by: Optional[str]) -> str:
    text = {"None": "[dim]·[/]", "My": "[yellow]My[/]", "All": "[green]All[/]"}[level.value]
    return f"{text} [cyan](+{escape(raised_by)})[/]" if raised_by else text


@app.command("show")
def manifest_show(
    integration: str = typer.Argument(..., help="An integration (" + ", ".join(manifest_names())
                                      + ", or one of the project's) or a manifest's path"),
    features: Optional[list[str]] = typer.Option(None, "--features", "-f", help="Features to include (repeat or comma-separate)"),
    all_features: bool = typer.Option(False, "--all-features", help="Include every feature"),
    wide: bool = typer.Option(False, "--wide", "-w", help="Add each grant's reason and where on the vendor page it comes from"),
    directory: Optional[Path] = typer.Option(None, "--dir", help=DIR_HELP),
) -> None:
    """The grants and Customize allow-lists an integration asks for, as a table. A feature that raises a base
    grant shows the merged level (the maximum per verb) marked with the feature."""
    f = _load(integration, _root(directory))
    m: Manifest = f.manifest  # type: ignore[assignment]
    enabled = {x.name for x in m.features} if all_features else set(split_csv(features)) | m.default_features()
    try:
        merged = m.merged(enabled)
        lists = m.customize_for(enabled)
    except ValueError as e:
        fail(str(e))
    where = "built-in" if f.builtin else f.display
    console.print(f"[bold]{escape(m.title)}[/] — role “{escape(m.role.name)}”, API member “{escape(m.api_member.identifier)}” "
                  f"({escape(m.vendor_page)}; manifest: {escape(where)})", highlight=False)
    if m.features:
        on = ", ".join(f"{x.name} [{'on' if x.name in enabled else 'off'}]" for x in m.features)
        console.print(f"features: {on}", highlight=False, markup=False)
    t = Table(title=f"{len(merged)} grants", show_lines=False)
    t.add_column("Module")
    t.add_column("Function")
    for n in LEVEL_NAMES:
        t.add_column(n.title(), justify="center")
    t.add_column("Feature")
    if wide:
        t.add_column("Reason")
        t.add_column("Source")
    for g in merged:
        base = g.rows[0]
        name = g.function if (g.function == base.function or not wide) else f"{g.function} (vendor: “{base.function}”)"
        if g.waiver or g.scoped_waivers:
            name += " [magenta](waiver)[/]"
        feats = ", ".join(dict.fromkeys(r.feature for r in g.rows if r.feature))
        extra = ["; ".join(dict.fromkeys(r.reason for r in g.rows)), "; ".join(dict.fromkeys(r.source for r in g.rows))]
        t.add_row(g.module, name if "[magenta]" in name else escape(name),
                  *(_cell(lv, g.raised_by.get(n)) for n, lv in g.levels.items()), escape(feats),
                  *([escape(x) for x in extra] if wide else []))
    console.print(t)
    if any(g.raised_by for g in merged):
        console.print("(+feature): the feature raises the base grant to this level (merged as the maximum per verb).",
                      highlight=False, markup=False)
    from cwroles.permissions import parse_customize_list
    from cwroles.problems import Where

    for fn, items in lists.items():
        key, canon, _ = parse_customize_list(fn, items, Where(f.display))
        console.print(f"{key or fn} › Customize: allow access to these", highlight=False, markup=False)
        ct = Table(show_header=False)
        ct.add_column("Item")
        for item in canon:
            ct.add_row(escape(item))
        console.print(ct)
    for g in merged:
        waivers = ([("", g.waiver)] if g.waiver else []) + [(f" › {n.title()}", w) for n, w in g.scoped_waivers]
        for lv, w in waivers:
            console.print(f"waiver {g.where}{lv}: {w.justification} (approved by {w.approved_by}, expires {w.expires})",
                          highlight=False, markup=False)
    renames = [p for p in f.notices if "renamed" in p.message]
    for p in renames:
        console.print(f"notice: {p.message}", highlight=False, markup=False)
    if m.notes:
        console.print(f"notes: {m.notes}", highlight=False, markup=False)


# ---- validate --------------------------------------------------------------------------------------
@app.command("validate")
def manifest_validate(
    paths: Optional[list[Path]] = typer.Argument(None, help="Manifest files; default: every manifest of the project "
                                                             "(integrations/ and stack config cwroles:manifest)"),
    directory: Optional[Path] = typer.Option(None, "--dir", help=DIR_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print errors only, not notices (renamed spellings)"),
) -> None:
    """Check manifests: exit 0 when every file is valid, 1 when any has an error (for CI and pre-commit).
    Every problem names the file, line, field and the fix; rows of features that are off are checked too."""
    root = _root(directory)
    given = [str(p) for p in paths or []]
    found = Integrations.discover(root, given, stack_files=not given)
    if given:
        files = [found.by_path(p) for p in given]
        files = [f for f in files if f is not None]
    else:
        files = found.user_files()
        if not files:
            err.print(f"no manifests of your own here (looked in {root / PROJECT_FOLDER if root else PROJECT_FOLDER}/ "
                      "and stack config cwroles:manifest); checking the built-in ones", highlight=False)
            files = [f for f in found.files if f.builtin]
    bad = 0
    for f in files:
        _print_problems(f.problems, notices=not quiet)
        if f.errors:
            bad += 1
        else:
            console.print(f"{escape(f.display)}: ok ({f.manifest.integration if f.manifest else '?'}"
                          f"{', ' + str(len(f.notices)) + ' notice(s)' if f.notices and not quiet else ''})",
                          highlight=False)
    total = sum(len(f.errors) for f in files)
    summary = f"{len(files)} manifest(s): {len(files) - bad} valid, {bad} with {total} error(s)"
    (err if bad else console).print(summary, highlight=False)
    raise typer.Exit(1 if bad else 0)


# ---- new -------------------------------------------------------------------------------------------
SKELETON = """\
# yaml-language-server: $schema={schema}
# {title} — the vendor's ConnectWise PSA permissions, transcribed from its page.
# Check it: `cwroles manifest validate {path}`; see it: `cwroles manifest show {name}`.
# Names are written as the vendor writes them; cwroles resolves them to ConnectWise's (and says so).
integration: {name}                 # the name stack config uses: cwroles:integration: {name}
title: {title}                      # the vendor's product name
vendor_page: https://example.com/connectwise-permissions   # the page you transcribe (URL or a file in the repo)
role:
  name: {role}                      # the security role's name (UI "Role ID", at most 30 characters)
api_member:
  identifier: {identifier}          # UI "Member ID": 1-15 letters, digits, '.', '_' or '-'
  name: {role}                      # UI "Member Name" (at most 30 characters)
features: []                        # rows the page marks as conditional, e.g.
# - name: time-entries              #   switched on in stack config cwroles:features
#   description: "Only if you create time entries from the app (the page's footnote)"
grants:                             # one row per module function on the page
- module: Companies                 # as written on the page ("Company module" works too)
  function: Company Maintenance
  inquire: All                      # add / edit / delete / inquire: None, My or All (omitted: None)
  reason: Reads companies           # why the vendor needs it
  source: "vendor page › Step 1"    # where on the page
# - module: Service Desk
#   function: Service Tickets
#   add: All
#   edit: All
#   inquire: All
#   reason: Opens tickets for alerts
#   source: "vendor page › Step 2"
#   feature: time-entries           # only with this feature (may raise a base row's levels)
#   waiver:                         # a grant above least privilege the vendor insists on (policy pack)
#     justification: "The page asks for Delete - All on …"
#     approved_by: vendor:Acme
#     expires: 2027-12-31
customize: []                       # Customize allow-lists, e.g.
# - function: System › Table Setup
#   items: [Service / Service Board]   # Table Setup tables as "Category / Table"
#   reason: The boards it reads
#   source: "vendor page › Step 3"
notes: ""
"""


@app.command("new")
def manifest_new(
    name: str = typer.Argument(..., help="The integration's name: lower-case letters, digits and '-', e.g. acme-rmm"),
    title: Optional[str] = typer.Option(None, "--title", help="The vendor's product name (default: from NAME)"),
    directory: Optional[Path] = typer.Option(None, "--dir", help=DIR_HELP),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file"),
) -> None:
    """Write integrations/NAME.yaml: a commented skeleton that validates, to fill in from the vendor's page
    (and integrations/manifest.schema.json for editors, if missing)."""
    import re

    if not re.match(NAME_PATTERN, name):
        fail(f"{name!r} is not a valid integration name: use lower-case letters, digits and '-' (e.g. acme-rmm)")
    if name in manifest_names():
        fail(f"{name!r} is a built-in integration; choose another name (e.g. {name + '-custom'!r})")
    root = _root(directory) or Path.cwd()
    folder = root / PROJECT_FOLDER
    path = folder / f"{name}.yaml"
    if path.exists() and not force:
        fail(f"{path} exists; edit it, or pass --force to start over")
    words = title or " ".join(w.capitalize() for w in name.split("-"))
    role = words[:30]
    identifier = re.sub(r"[^A-Za-z0-9]", "", words)[:15] or "Integration"
    folder.mkdir(parents=True, exist_ok=True)
    shown = f"{PROJECT_FOLDER}/{name}.yaml"
    path.write_text(SKELETON.format(schema=SCHEMA_FILE, title=words, name=name, role=role, identifier=identifier,
                                    path=shown), encoding="utf-8")
    schema = folder / SCHEMA_FILE
    if not schema.exists():
        schema.write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
    console.print(f"Wrote [bold]{escape(str(path))}[/]. Next:", highlight=False)
    for step in (f"fill it in from the vendor's page, then: cwroles manifest validate {shown}",
                 f"cwroles manifest show {name}",
                 f"pulumi config set cwroles:integration {name} -s <stack>   # then pulumi preview / up"):
        console.print(f"  {step}", highlight=False, markup=False)


# ---- schema ----------------------------------------------------------------------------------------
@app.command("schema")
def manifest_schema(output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write it here instead of stdout")) -> None:
    """The JSON Schema of a manifest, generated from its pydantic model (for editors)."""
    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {escape(str(output))}", highlight=False)
    else:
        typer.echo(text, nl=False)


__all__ = ["app"]
