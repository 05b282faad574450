"""``cwroles``: stack files for tenants, and a look at what each vendor integration grants.

    cwroles stack-config --tenant acme --integration mobius --site api-na.myconnectwise.net --company-id acme
    cwroles manifest list
    cwroles manifest show msp-process --features time-entries
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import typer
import yaml
from rich.console import Console
from rich.table import Table

from cwroles.catalog import LEVEL_NAMES, load_catalog
from cwroles.grid import Level
from cwroles.manifest import load_manifest, manifest_names

app = typer.Typer(
    help="ConnectWise PSA security roles and API members as code: stack files and vendor manifests.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
manifest_app = typer.Typer(help="Show what each vendor integration grants.", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")

console = Console()
err = Console(stderr=True)

_TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _split(values: Optional[list[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out


# ---- stack-config ---------------------------------------------------------------------------------
@app.command("stack-config")
def stack_config(
    tenant: str = typer.Option(..., help="Short tenant name (lower case, digits, '-'); the stack is <tenant>-<integration>."),
    integration: str = typer.Option(..., help="Vendor integration: " + ", ".join(manifest_names())),
    site: str = typer.Option(..., help="ConnectWise API host, e.g. api-na.myconnectwise.net"),
    company_id: str = typer.Option(..., "--company-id", help="The company id you log in with"),
    client_id: Optional[str] = typer.Option(None, "--client-id", help="clientId from developer.connectwise.com"),
    public_key: Optional[str] = typer.Option(
        None, "--public-key", help="Public key of the provisioning API member (the private key is set as a secret, see below)"
    ),
    features: Optional[list[str]] = typer.Option(None, "--features", "-f", help="Integration features to switch on (repeat or comma-separate)"),
    role_name: Optional[str] = typer.Option(None, "--role-name", help="Override the role name the vendor asks for"),
    api_member_identifier: Optional[str] = typer.Option(None, "--api-member-identifier", help="Override the API member identifier (<= 15 characters)"),
    api_member_name: Optional[str] = typer.Option(None, "--api-member-name"),
    api_member_email: Optional[str] = typer.Option(None, "--api-member-email"),
    directory: Path = typer.Option(Path("."), "--dir", help="Where Pulumi.yaml lives (the repository root)"),
) -> None:
    """Write Pulumi.<tenant>-<integration>.yaml: one stack per tenant and integration (no secrets in it)."""
    from cwroles.stacks.program import StackConfigError, build_plan, read_settings

    if integration not in manifest_names():
        _fail(f"--integration {integration!r} is not an integration cwroles knows; choose one of: {', '.join(manifest_names())}")
    known = {f.name for f in load_manifest(integration).features}
    unknown = [f for f in _split(features) if f not in known]
    if unknown:
        _fail(f"--features: {integration} has no feature {', '.join(map(repr, unknown))}; "
              f"its features are: {', '.join(sorted(known)) or 'none'}")

    if not _TENANT_RE.match(tenant):
        _fail(f"--tenant {tenant!r}: use lower-case letters, digits and '-' (e.g. acme), at most 41 characters")
    if not site.strip():
        _fail("--site is empty: give your ConnectWise API host, e.g. api-na.myconnectwise.net")
    if not company_id.strip():
        _fail("--company-id is empty: give the company id you log in to ConnectWise PSA with")
    stack_keys: dict[str, Any] = {"integration": integration}
    feats = _split(features)
    if feats:
        stack_keys["features"] = feats
    for key, value in (
        ("roleName", role_name),
        ("apiMemberIdentifier", api_member_identifier),
        ("apiMemberName", api_member_name),
        ("apiMemberEmail", api_member_email),
    ):
        if value:
            stack_keys[key] = value
    try:  # the same checks `pulumi up` makes, now rather than later
        settings = read_settings(stack_keys)
        plan = build_plan(load_manifest(settings.integration), settings)
    except StackConfigError as e:
        _fail(str(e))

    stack = f"{tenant}-{integration}"
    path = directory / f"Pulumi.{stack}.yaml"
    existing: dict[str, Any] = {}
    if path.exists():
        existing = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(existing, dict):
            _fail(f"{path} exists but is not a Pulumi stack file; move it away and run again")
    config: dict[str, Any] = dict(existing.get("config") or {})
    # replace this command's keys, keep everything else (secrets set with `pulumi config set --secret`, other keys)
    for k in [k for k in config if k.startswith("cwroles:")]:
        del config[k]
    config.update({f"cwroles:{k}": v for k, v in stack_keys.items()})
    config["connectwise:site"] = site.strip()
    config["connectwise:companyId"] = company_id.strip()
    if client_id:
        config["connectwise:clientId"] = client_id.strip()
    if public_key:
        config["connectwise:publicKey"] = public_key.strip()
    doc = {k: v for k, v in existing.items() if k != "config"}
    doc["config"] = config
    header = (
        f"# Stack {stack}: {plan.title} on tenant {tenant} ({site.strip()}). Written by `cwroles stack-config`.\n"
        "# No secrets here: set the private key with `pulumi config set --secret connectwise:privateKey` (see docs/stacks.md).\n"
    )
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")

    console.print(f"{'Updated' if existing else 'Wrote'} [bold]{path}[/] (stack [bold]{stack}[/]).", highlight=False)
    steps = [f"pulumi stack select --create {stack}"]
    if "connectwise:clientId" not in config:
        steps.append(f"pulumi config set connectwise:clientId <clientId> -s {stack}")
    if "connectwise:publicKey" not in config:
        steps.append(f"pulumi config set connectwise:publicKey <public key> -s {stack}")
    if "connectwise:privateKey" not in config:
        steps.append(f"pulumi config set --secret connectwise:privateKey -s {stack}   # prompts; stored encrypted")
    steps.append(f"pulumi up -s {stack}")
    console.print("Next:", highlight=False)
    for s in steps:
        console.print(f"  {s}", highlight=False, markup=False)
    console.print(
        "The keys are the provisioning API member's (it needs System › Security and System › Member Maintenance; "
        "see docs/stacks.md), not the integration's.",
        highlight=False,
    )


# ---- manifest -------------------------------------------------------------------------------------
def _load(integration: str):
    try:
        return load_manifest(integration)
    except ValueError as e:
        _fail(str(e))


@manifest_app.command("list")
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


@manifest_app.command("show")
def manifest_show(
    integration: str = typer.Argument(..., help="One of: " + ", ".join(manifest_names())),
    features: Optional[list[str]] = typer.Option(None, "--features", "-f", help="Features to include (repeat or comma-separate)"),
    all_features: bool = typer.Option(False, "--all-features", help="Include every feature"),
    wide: bool = typer.Option(False, "--wide", "-w", help="Add each grant's reason and where on the vendor page it comes from"),
) -> None:
    """The grants and Customize allow-lists an integration asks for, as a table."""
    m = _load(integration)
    enabled = {f.name for f in m.features} if all_features else set(_split(features)) | m.default_features()
    try:
        grants = m.grants_for(enabled)
        lists = m.customize_for(enabled)
    except ValueError as e:
        _fail(str(e))
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


if __name__ == "__main__":  # pragma: no cover
    app()
