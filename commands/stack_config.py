"""``cwroles stack-config``: write Pulumi.<tenant>-<integration>.yaml, one stack per tenant and integration."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer
import yaml
from rich.markup import escape

from cwroles.manifest import Integrations, manifest_names

from ._common import console, fail, print_commands, split_csv

_TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


def project_salt(directory: Path, tenant: Optional[str] = None) -> Optional[str]:
    """The ``encryptionsalt`` to give a new stack file: the one the tenant's other stacks use, else the one most
    stack files of the project use (None when no stack file has one).

    Pulumi keeps a salt written into a new stack file, so stacks that share it share one derived key and one
    passphrase: ``cwroles drift`` then derives the key once instead of once per stack (about 0.5 s each).
    """
    found: list[tuple[str, str]] = []  # (stack, salt)
    for f in sorted(directory.glob("Pulumi.*.yaml")):
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("encryptionsalt"), str) and not doc.get("secretsprovider"):
            found.append((f.name[len("Pulumi."):-len(".yaml")], doc["encryptionsalt"]))
    for pool in ([salt for stack, salt in found if tenant and stack.startswith(tenant + "-")], [salt for _, salt in found]):
        if pool:
            return Counter(pool).most_common(1)[0][0]
    return None


def stack_config(
    tenant: str = typer.Option(..., help="Short tenant name (lower case, digits, '-'); the stack is <tenant>-<integration>."),
    integration: str = typer.Option(..., help="Vendor integration: " + ", ".join(manifest_names()) + ", or one in integrations/"),
    site: str = typer.Option(..., help="ConnectWise API host, e.g. api-na.myconnectwise.net"),
    company_id: str = typer.Option(..., "--company-id", help="The company id you log in with"),
    client_id: Optional[str] = typer.Option(None, "--client-id", help="clientId from developer.connectwise.com"),
    public_key: Optional[str] = typer.Option(
        None, "--public-key", help="Public key of the provisioning API member (the private key is set as a secret, see below)"
    ),
    features: Optional[list[str]] = typer.Option(None, "--features", "-f", help="Integration features to switch on (repeat or comma-separate)"),
    role_name: Optional[str] = typer.Option(None, "--role-name", help="Override the role name the vendor asks for"),
    api_member_identifier: Optional[str] = typer.Option(None, "--api-member-identifier", help="Override the API member identifier (<= 15 characters)"),
    api_member_name: Optional[str] = typer.Option(None, "--api-member-name", help="The API member's display name (<= 30 characters)"),
    api_member_email: Optional[str] = typer.Option(None, "--api-member-email", help="The API member's email address"),
    directory: Path = typer.Option(Path("."), "--dir", help="Where Pulumi.yaml lives (the repository root)"),
) -> None:
    """Write Pulumi.<tenant>-<integration>.yaml: one stack per tenant and integration (no secrets in it)."""
    from cwroles.stacks.program import StackConfigError, build_plan, manifest_for, read_settings

    integrations = Integrations.discover(directory)  # built-in and the project's own (integrations/)
    found = integrations.get(integration)
    if found is None or found.manifest is None:
        fail(f"--integration {integration!r} is not an integration cwroles knows; choose one of: {', '.join(integrations.names())}")
    known = {f.name for f in found.manifest.features}
    unknown = [f for f in split_csv(features) if f not in known]
    if unknown:
        fail(f"--features: {integration} has no feature {', '.join(map(repr, unknown))}; "
              f"its features are: {', '.join(sorted(known)) or 'none'}")

    if not _TENANT_RE.match(tenant):
        fail(f"--tenant {tenant!r}: use lower-case letters, digits and '-' (e.g. acme), at most 41 characters")
    if not site.strip():
        fail("--site is empty: give your ConnectWise API host, e.g. api-na.myconnectwise.net")
    if not company_id.strip():
        fail("--company-id is empty: give the company id you log in to ConnectWise PSA with")
    stack_keys: dict[str, Any] = {"integration": integration}
    feats = split_csv(features)
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
        settings = read_settings(stack_keys, integrations)
        plan = build_plan(manifest_for(settings, integrations), settings)
    except StackConfigError as e:
        fail(str(e))

    stack = f"{tenant}-{integration}"
    path = directory / f"Pulumi.{stack}.yaml"
    existing: dict[str, Any] = {}
    if path.exists():
        existing = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(existing, dict):
            fail(f"{path} exists but is not a Pulumi stack file; move it away and run again")
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
    shared_salt = None if existing else project_salt(directory, tenant)
    if shared_salt:  # a new stack: one key derivation then opens every stack of the project (cwroles drift)
        doc["encryptionsalt"] = shared_salt
    doc["config"] = config
    header = (
        f"# Stack {stack}: {plan.title} on tenant {tenant} ({site.strip()}). Written by `cwroles stack-config`.\n"
        "# No secrets here: set the private key with `pulumi config set --secret connectwise:privateKey` (see docs/stacks.md).\n"
    )
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")

    console.print(f"{'Updated' if existing else 'Wrote'} [bold]{escape(str(path))}[/] (stack [bold]{stack}[/]).",
                  highlight=False, soft_wrap=True)
    if shared_salt:
        console.print("It reuses the encryptionsalt of your other stacks, so it opens with their passphrase and "
                      "`cwroles drift` derives one key for all (remove the line before `pulumi stack init` to give "
                      "this stack a passphrase of its own).",
                      highlight=False, soft_wrap=True)
    steps = [f"pulumi stack select --create {stack}"]
    if "connectwise:clientId" not in config:
        steps.append(f"pulumi config set connectwise:clientId <clientId> -s {stack}")
    if "connectwise:publicKey" not in config:
        steps.append(f"pulumi config set connectwise:publicKey <public key> -s {stack}")
    if "connectwise:privateKey" not in config:
        steps.append(f"pulumi config set --secret connectwise:privateKey -s {stack}   # prompts; stored encrypted")
    steps.append(f"pulumi up -s {stack}")
    print_commands(steps)
    console.print(
        "The keys are the provisioning API member's (it needs System › Security and System › Member Maintenance; "
        "see docs/stacks.md), not the integration's.",
        highlight=False,
    )
