"""``cwroles manifest …``: what each vendor integration grants (the manifests in cwroles/data/integrations/)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from cwroles.catalog import LEVEL_NAMES, load_catalog
from cwroles.grid import Level
from cwroles.manifest import load_manifest, manifest_names

from ._common import console, fail, group, split_csv

app = group("What each vendor integration grants.")


def _load(integration: str):
    try:
        return load_manifest(integration)
    except ValueError as e:
        fail(str(e))


@app.command("list")
def manifest_list() -> None:
    """The integrations cwroles knows."""
    t = Table(title="Integrations")
    for col in ("integration", "vendor", "role", "API member", "grants", "features"):
        t.add_column(col)
    for name in manifest_names():
        m = load_manifest(name)
        t.add_row(name, m.title, m.role.name, m.api_member.identifier, str(len(m.grants_for(set()))),
                  ", ".join(f.name for f in m.features) or "—")
    console.print(t)


def _cell(level: Level) -> str:
    return {"None": "[dim]·[/]", "My": "[yellow]My[/]", "All": "[green]All[/]"}[level.value]


@app.command("show", short_help="The grants and allow-lists an integration asks for.")
def manifest_show(
    integration: str = typer.Argument(..., help="One of: " + ", ".join(manifest_names())),
    features: Optional[list[str]] = typer.Option(None, "--features", "-f", help="Features to include (repeat or comma-separate)"),
    all_features: bool = typer.Option(False, "--all-features", help="Include every feature"),
    wide: bool = typer.Option(False, "--wide", "-w", help="Add each grant's reason and where on the vendor page it comes from"),
) -> None:
    """The grants and Customize allow-lists an integration asks for, as a table."""
    m = _load(integration)
    enabled = {f.name for f in m.features} if all_features else set(split_csv(features)) | m.default_features()
    try:
        grants = m.grants_for(enabled)
        lists = m.customize_for(enabled)
    except ValueError as e:
        fail(str(e))
    catalog = load_catalog()

    console.print(f"[bold]{m.title}[/] — role “{m.role.name}”, API member “{m.api_member.identifier}” ({m.vendor_page})",
                  highlight=False)
    if m.features:
        on = ", ".join(f"{f.name} [{'on' if f.name in enabled else 'off'}]" for f in m.features)
        console.print(f"features: {on}", highlight=False, markup=False)
    t = Table(title=f"{len(grants)} grants", show_lines=False)
    t.add_column("Module")
    t.add_column("Function")
    for n in LEVEL_NAMES:
        t.add_column(n.title(), justify="center")
    t.add_column("Feature")
    if wide:
        t.add_column("Reason")
        t.add_column("Source")
    for g in grants:
        mod, fn = catalog.function(g.module, g.function)
        name = fn.name if (fn.name == g.function or not wide) else f"{fn.name} (vendor: “{g.function}”)"
        if g.waiver:
            name += " [magenta](waiver)[/]"
        extra = [g.reason, g.source] if wide else []
        t.add_row(mod.name, name, *(_cell(lv) for lv in g.levels().values()), g.feature or "", *extra)
    console.print(t)
    for fn, items in lists.items():
        module, function = (p.strip() for p in fn.split("›"))
        _, f = catalog.function(module, function)
        console.print(f"{fn} › Customize: allow access to these", highlight=False, markup=False)
        ct = Table(show_header=False)
        ct.add_column("Item")
        for item in items:
            ct.add_row(catalog.customize_item(f, item))
        console.print(ct)
    waived = [g for g in grants if g.waiver]
    for g in waived:
        w = g.waiver
        console.print(f"waiver {g.where}: {w.justification} (approved by {w.approved_by}, expires {w.expires})",
                      highlight=False, markup=False)
    if m.notes:
        console.print(f"notes: {m.notes}", highlight=False, markup=False)
