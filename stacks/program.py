"""The stack program: stack config + vendor manifest → security role, its permissions, an API member.

Everything that decides *what* to create is pure (``read_settings`` and ``build_plan``) and is tested
without the Pulumi engine; ``main()`` only reads config, calls them and declares the resources.
"""

from __future__ import annotations

import datetime as dt
import os
import json
import re
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from cwroles.catalog import LEVEL_NAMES, Catalog, CatalogError, load_catalog
from cwroles.grid import GrantError, Level, desired_grid
from cwroles.manifest import Manifest, load_manifest, manifest_names

NAMESPACE = "cwroles"
# Stack config keys this program reads (without the "cwroles:" namespace).
CONFIG_KEYS = (
    "integration",
    "features",
    "roleName",
    "apiMemberIdentifier",
    "apiMemberName",
    "apiMemberEmail",
    "waivers",
    "extraGrants",
    "extraCustomize",
)

ROLE_NAME_MAX = 30
IDENTIFIER_MAX = 15
MEMBER_NAME_MAX = 30
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StackConfigError(ValueError):
    """Stack configuration an MSP admin must fix; the message says what, where and how."""


@dataclass(frozen=True)
class StackSettings:
    integration: str
    features: tuple[str, ...] = ()
    role_name: Optional[str] = None
    api_member_identifier: Optional[str] = None
    api_member_name: Optional[str] = None
    api_member_email: Optional[str] = None
    waivers: tuple[Mapping[str, Any], ...] = ()
    extra_grants: tuple[Mapping[str, Any], ...] = ()
    extra_customize: tuple[tuple[str, tuple[Any, ...]], ...] = ()


@dataclass(frozen=True)
class Plan:
    """Arguments of the three resources, as plain data (no Pulumi outputs)."""

    integration: str
    title: str
    role_resource: str
    permissions_resource: str
    member_resource: str
    role_args: dict[str, Any]
    permissions_args: dict[str, Any]  # everything but role_id / role_name, which come from the role
    member_args: dict[str, Any]  # everything but role_id
    next_step: str
    features: list[str] = field(default_factory=list)


# ---- config ---------------------------------------------------------------------------------------
def _set_hint(key: str, example: str) -> str:
    return f"`pulumi config set {NAMESPACE}:{key} {example}`"


def _parse_list(key: str, value: Any) -> list[Any]:
    """A list from stack config: YAML list, JSON text, or a comma-separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as e:
                raise StackConfigError(f"{NAMESPACE}:{key} is not a valid list ({e.msg}); write it as a YAML list in the stack file") from None
        else:
            return [p.strip() for p in text.split(",") if p.strip()]
    if not isinstance(value, list):
        raise StackConfigError(f"{NAMESPACE}:{key} must be a list, got {type(value).__name__}")
    return value


def _parse_mapping(key: str, value: Any) -> dict[str, Any]:
    """A mapping from stack config: YAML mapping or JSON object text."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise StackConfigError(f"{NAMESPACE}:{key} is not a valid mapping ({e.msg}); write it as a YAML mapping in the stack file") from None
    if not isinstance(value, Mapping):
        raise StackConfigError(f"{NAMESPACE}:{key} must be a mapping, got {type(value).__name__}")
    return dict(value)


def _optional_text(raw: Mapping[str, Any], key: str) -> Optional[str]:
    v = raw.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise StackConfigError(f"{NAMESPACE}:{key} must be text, got {v!r}")
    return v.strip() or None


def read_settings(raw: Mapping[str, Any]) -> StackSettings:
    """Validate raw stack config values (``{"integration": "mobius", "features": "[...]", ...}``)."""
    unknown = set(raw) - set(CONFIG_KEYS)
    if unknown:
        raise StackConfigError(
            f"unknown stack config key(s) {', '.join(f'{NAMESPACE}:{k}' for k in sorted(unknown))}; "
            f"this program reads: {', '.join(f'{NAMESPACE}:{k}' for k in CONFIG_KEYS)}"
        )
    names = manifest_names()
    integration = str(raw.get("integration") or "").strip()
    if not integration:
        raise StackConfigError(
            f"{NAMESPACE}:integration is not set; choose one of: {', '.join(names)} "
            f"(e.g. {_set_hint('integration', names[0] if names else '<name>')})"
        )
    if integration not in names:
        raise StackConfigError(
            f"{NAMESPACE}:integration is {integration!r}, which cwroles does not know; choose one of: {', '.join(names)}"
        )
    features = []
    for f in _parse_list("features", raw.get("features")):
        if not isinstance(f, str) or not f.strip():
            raise StackConfigError(f"{NAMESPACE}:features must list feature names, got {f!r}")
        if f.strip() not in features:
            features.append(f.strip())
    waivers = _parse_list("waivers", raw.get("waivers"))
    for i, w in enumerate(waivers):
        if not isinstance(w, Mapping):
            raise StackConfigError(
                f"{NAMESPACE}:waivers[{i}] must be a mapping with module, function, level (optional), "
                f"justification, approved_by and expires; got {w!r}"
            )
    extra_grants = _parse_list("extraGrants", raw.get("extraGrants"))
    for i, g in enumerate(extra_grants):
        if not isinstance(g, Mapping):
            raise StackConfigError(
                f"{NAMESPACE}:extraGrants[{i}] must be a mapping with module, function, add, edit, delete, inquire "
                f"(levels None, My or All) and optionally waiver; got {g!r}"
            )
    extra_customize = []
    for fn, items in _parse_mapping("extraCustomize", raw.get("extraCustomize")).items():
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise StackConfigError(
                f"{NAMESPACE}:extraCustomize[{fn!r}] must be a list of names (e.g. ['Service / Service Board']), got {items!r}"
            )
        extra_customize.append((str(fn), tuple(items)))
    return StackSettings(
        integration=integration,
        features=tuple(features),
        role_name=_optional_text(raw, "roleName"),
        api_member_identifier=_optional_text(raw, "apiMemberIdentifier"),
        api_member_name=_optional_text(raw, "apiMemberName"),
        api_member_email=_optional_text(raw, "apiMemberEmail"),
        waivers=tuple(waivers),
        extra_grants=tuple(extra_grants),
        extra_customize=tuple(extra_customize),
    )


# ---- plan -----------------------------------------------------------------------------------------
def _waiver_json(w) -> dict[str, str]:
    return {"justification": w.justification, "approved_by": w.approved_by, "expires": w.expires.isoformat()}


def _config_waivers(
    settings: StackSettings, granted: dict[tuple[str, str], dict[str, Level]], catalog: Catalog
) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    required = ("module", "function", "justification", "approved_by", "expires")
    for i, w in enumerate(settings.waivers):
        where = f"{NAMESPACE}:waivers[{i}]"
        extra = set(w) - {*required, "level"}
        if extra:
            raise StackConfigError(f"{where}: unknown field(s) {sorted(extra)}; allowed: {', '.join(required)}, level")
        missing = [k for k in required if not str(w.get(k) or "").strip()]
        if missing:
            raise StackConfigError(f"{where}: missing {', '.join(missing)}; a waiver needs {', '.join(required)}")
        try:
            m, f = catalog.function(str(w["module"]), str(w["function"]))
        except CatalogError as e:
            raise StackConfigError(f"{where}: {e}") from None
        key = (m.name, f.name)
        if key not in granted:
            raise StackConfigError(
                f"{where}: {m.name} › {f.name} is not granted by this stack, so there is nothing to waive; "
                "remove the waiver or enable the feature that grants it"
            )
        entry = {"module": m.name, "function": f.name}
        level = w.get("level")
        if level is not None:
            lv = str(level).strip().lower()
            if lv not in LEVEL_NAMES:
                raise StackConfigError(f"{where} ({m.name} › {f.name}): level {level!r} is not one of {', '.join(LEVEL_NAMES)}")
            if granted[key][lv] is Level.NONE:
                raise StackConfigError(
                    f"{where}: {m.name} › {f.name} › {lv.title()} is not granted by this stack; nothing to waive"
                )
            entry["level"] = lv
        expires = w["expires"]
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        if not isinstance(expires, dt.date):
            try:
                expires = dt.date.fromisoformat(str(expires).strip())
            except ValueError:
                raise StackConfigError(f"{where} ({m.name} › {f.name}): expires {w['expires']!r} is not a date like 2027-11-22") from None
        entry.update(justification=str(w["justification"]).strip(), approved_by=str(w["approved_by"]).strip(),
                     expires=expires.isoformat())
        out.append(entry)
    return out


_GRANT_KEYS = ("module", "function", *LEVEL_NAMES, "waiver")
_WAIVER_KEYS = ("justification", "approved_by", "expires")


def _date(where: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise StackConfigError(f"{where}: expires {value!r} is not a date like 2027-11-22") from None


def _grant_waiver(where: str, w: Any) -> dict[str, str]:
    """A waiver written on an extra grant: {justification, approved_by, expires}."""
    if not isinstance(w, Mapping):
        raise StackConfigError(f"{where}: waiver must be a mapping with {', '.join(_WAIVER_KEYS)}; got {w!r}")
    extra = set(w) - set(_WAIVER_KEYS)
    if extra:
        raise StackConfigError(f"{where}: waiver has unknown field(s) {sorted(extra)}; allowed: {', '.join(_WAIVER_KEYS)}")
    missing = [k for k in _WAIVER_KEYS if not str(w.get(k) or "").strip()]
    if missing:
        raise StackConfigError(f"{where}: waiver is missing {', '.join(missing)}; a waiver needs {', '.join(_WAIVER_KEYS)}")
    return {"justification": str(w["justification"]).strip(), "approved_by": str(w["approved_by"]).strip(),
            "expires": _date(f"{where}: waiver", w["expires"]).isoformat()}


def _merge_extra_grants(
    settings: StackSettings, merged: dict[tuple[str, str], dict[str, Any]], catalog: Catalog
) -> list[dict[str, str]]:
    """Apply ``cwroles:extraGrants`` to the manifest's grants (in place).

    Same function as a manifest grant: the levels given replace the manifest's levels, levels not given
    stay. New function: appended, levels not given are None. A vendor waiver on a manifest grant covers
    only what the vendor asked for: when an extra grant changes any level of that grant, the vendor
    waiver is kept for the unchanged levels only (returned as level-scoped stack waivers), so a widened
    level is never waived by the vendor's approval. A ``waiver`` on the extra grant covers the whole grant.
    """
    moved: list[dict[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, g in enumerate(settings.extra_grants):
        where = f"{NAMESPACE}:extraGrants[{i}]"
        extra = set(g) - set(_GRANT_KEYS)
        if extra:
            raise StackConfigError(f"{where}: unknown field(s) {sorted(extra)}; allowed: {', '.join(_GRANT_KEYS)}")
        missing = [k for k in ("module", "function") if not str(g.get(k) or "").strip()]
        if missing:
            raise StackConfigError(f"{where}: missing {', '.join(missing)}; an extra grant names a module and a function")
        try:
            m, f = catalog.function(str(g["module"]), str(g["function"]))
        except CatalogError as e:
            raise StackConfigError(f"{where}: {e}") from None
        key = (m.name, f.name)
        here = f"{where} ({m.name} › {f.name})"
        if key in seen:
            raise StackConfigError(
                f"{here}: {m.name} › {f.name} is already in {NAMESPACE}:extraGrants[{seen[key]}]; merge them into one entry"
            )
        seen[key] = i
        given: dict[str, Level] = {}
        for n in LEVEL_NAMES:
            if g.get(n) is None:
                continue
            try:
                lv = Level.parse(g[n])
            except ValueError:
                raise StackConfigError(f"{here}: {n} {g[n]!r} is not a level; use None, My or All") from None
            if lv is not Level.NONE and n not in f.levels:
                applies = ", ".join(x.title() for x in f.levels) or "none"
                raise StackConfigError(
                    f"{here}: the {n.title()} level does not apply to {m.name} › {f.name} (its levels: {applies})"
                )
            given[n] = lv
        if not given:
            raise StackConfigError(f"{here}: names no level; give add, edit, delete and/or inquire as None, My or All")
        waiver = _grant_waiver(here, g["waiver"]) if g.get("waiver") is not None else None
        entry = merged.get(key)
        if entry is None:
            if all(lv is Level.NONE for lv in given.values()):
                raise StackConfigError(
                    f"{here}: every level is None and the vendor manifest does not grant {m.name} › {f.name}; remove the entry"
                )
            levels = {n: given.get(n, Level.NONE) for n in LEVEL_NAMES}
            merged[key] = {"module": m.name, "function": f.name, "levels": levels, "waiver": waiver}
            continue
        before = dict(entry["levels"])
        entry["levels"] = {n: given.get(n, before[n]) for n in LEVEL_NAMES}
        vendor = entry["waiver"]
        if vendor is not None and entry["levels"] != before:
            moved += [
                {"module": m.name, "function": f.name, "level": n, **vendor}
                for n in LEVEL_NAMES
                if entry["levels"][n] is not Level.NONE and entry["levels"][n] == before[n]
            ]
            entry["waiver"] = None
        if waiver is not None:
            entry["waiver"] = waiver
    return moved


def _merge_extra_customize(settings: StackSettings, customize: dict[str, list[str]], catalog: Catalog) -> None:
    """Apply ``cwroles:extraCustomize`` ({"System › Table Setup": [items]}) to the allow-lists (in place)."""
    for fn, items in settings.extra_customize:
        where = f"{NAMESPACE}:extraCustomize[{fn!r}]"
        parts = [p.strip() for p in fn.split("›")]
        if len(parts) != 2 or not all(parts):
            raise StackConfigError(f"{where}: name the function as 'Module › Function', e.g. 'System › Table Setup'")
        try:
            m, f = catalog.function(*parts)
        except CatalogError as e:
            raise StackConfigError(f"{where}: {e}") from None
        if f.customize is None:
            raise StackConfigError(f"{where}: {m.name} › {f.name} has no Customize list in ConnectWise PSA")
        key = f"{m.name} › {f.name}"
        customize.setdefault(key, [])
        for item in items:
            try:
                canon = catalog.customize_item(f, item)
            except CatalogError as e:
                raise StackConfigError(f"{where}: {e}") from None
            if canon not in customize[key]:
                customize[key].append(canon)


def next_step_text(identifier: str, vendor: str) -> str:
    return (
        f"Create the API key by hand: in ConnectWise PSA open System › Members › API Members › {identifier} › "
        f"API Keys, click +, save, and hand the public and private key to {vendor} (the private key is shown only "
        "once; cwroles never sees it)."
    )


def build_plan(manifest: Manifest, settings: StackSettings, catalog: Catalog | None = None) -> Plan:
    """The resource arguments for ``settings`` (pure: no engine, no network)."""
    catalog = catalog or load_catalog()
    integration = manifest.integration
    enabled = set(settings.features) | manifest.default_features()
    try:
        manifest.check_features(enabled)
    except ValueError:
        known = ", ".join(f.name for f in manifest.features) or "none (leave cwroles:features empty)"
        bad = sorted(enabled - {f.name for f in manifest.features})
        raise StackConfigError(
            f"{NAMESPACE}:features: {manifest.title} has no feature {', '.join(map(repr, bad))}; "
            f"its features are: {known}"
        ) from None

    grants = manifest.grants_for(enabled)
    try:
        desired_grid(grants, catalog)
    except GrantError as e:  # a manifest bug, not the admin's: still say where
        raise StackConfigError(f"manifest cwroles/data/integrations/{integration}.yaml: {e}") from None
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for g in grants:
        m, f = catalog.function(g.module, g.function)
        merged[(m.name, f.name)] = {
            "module": m.name, "function": f.name, "levels": g.levels(),
            "waiver": _waiver_json(g.waiver) if g.waiver is not None else None,
        }
    moved_waivers = _merge_extra_grants(settings, merged, catalog)
    grant_args: list[dict[str, Any]] = []
    granted: dict[tuple[str, str], dict[str, Level]] = {}
    for key, e in merged.items():
        levels = e["levels"]
        granted[key] = levels
        arg: dict[str, Any] = {"module": e["module"], "function": e["function"],
                               **{n: levels[n].value for n in LEVEL_NAMES}}
        if e["waiver"] is not None:
            arg["waiver"] = e["waiver"]
        grant_args.append(arg)

    customize: dict[str, list[str]] = {}
    for fn, items in manifest.customize_for(enabled).items():
        module, function = (p.strip() for p in fn.split("›"))
        m, f = catalog.function(module, function)
        key = f"{m.name} › {f.name}"
        customize.setdefault(key, [])
        for item in items:
            canon = catalog.customize_item(f, item)
            if canon not in customize[key]:
                customize[key].append(canon)
    _merge_extra_customize(settings, customize, catalog)

    role_name = settings.role_name or manifest.role.name
    if len(role_name) > ROLE_NAME_MAX:
        raise StackConfigError(f"{NAMESPACE}:roleName {role_name!r} is longer than ConnectWise allows ({ROLE_NAME_MAX} characters)")
    identifier = settings.api_member_identifier or manifest.api_member.identifier
    if len(identifier) > IDENTIFIER_MAX or not _IDENTIFIER_RE.match(identifier):
        raise StackConfigError(
            f"{NAMESPACE}:apiMemberIdentifier {identifier!r}: an API member identifier is 1-{IDENTIFIER_MAX} letters, "
            "digits, '.', '_' or '-' with no spaces"
        )
    member_name = settings.api_member_name or manifest.api_member.name
    if len(member_name) > MEMBER_NAME_MAX:
        raise StackConfigError(f"{NAMESPACE}:apiMemberName {member_name!r} is longer than {MEMBER_NAME_MAX} characters")
    email = settings.api_member_email
    if email is not None and not _EMAIL_RE.match(email):
        raise StackConfigError(f"{NAMESPACE}:apiMemberEmail {email!r} is not an email address")

    features = sorted(enabled)
    return Plan(
        integration=integration,
        title=manifest.title,
        role_resource=f"{integration}-role",
        permissions_resource=f"{integration}-permissions",
        member_resource=f"{integration}-api-member",
        role_args={"name": role_name},
        permissions_args={
            "grants": grant_args,
            "customize": customize,
            "integration": integration,
            "features": features,
            "waivers": _config_waivers(settings, granted, catalog) + moved_waivers,
            "member_identifier": identifier,
        },
        member_args={"identifier": identifier, "name": member_name, "email_address": email},
        next_step=next_step_text(identifier, manifest.title),
        features=features,
    )


def plan_from_config(raw: Mapping[str, Any], catalog: Catalog | None = None) -> Plan:
    settings = read_settings(raw)
    return build_plan(load_manifest(settings.integration), settings, catalog)


# ---- the Pulumi program ---------------------------------------------------------------------------
def _raw_config() -> dict[str, Any]:
    import pulumi

    cfg = pulumi.Config(NAMESPACE)
    return {k: v for k in CONFIG_KEYS if (v := cfg.get(k)) is not None}


def _connectwise_site() -> Optional[str]:
    import pulumi

    return pulumi.Config("connectwise").get("site") or os.environ.get("CONNECTWISE_SITE") or None


def next_step_output(plan: Plan, pending: list, customize_status: Optional[str]):
    """What to do next, as of the operation that wrote the outputs: the checklist first, then the key."""
    if pending:
        return (f"{len(pending)} permission setting(s) of the role differ from the code (the `pending` output): "
                f"set them by hand in System › Security Roles › {plan.role_args['name']} (`pulumi up` writes them "
                f"as a checklist), then run `pulumi up` again. After that: {plan.next_step}")
    return plan.next_step


def main(emulator: Optional[Any] = None) -> None:
    """Declare the stack's resources. ``emulator`` is the seam for the embedded default (tests pass a fake):
    an object with ``ensure_running(project_root, log)`` and ``check_running(project_root, log)``; by default
    ``cwroles.stacks.local_emulator``. It is used only when the stack chose the emulator
    (``connectwise:site: emulator``): ``pulumi up`` starts it if nothing answers, a preview never does."""
    import pulumi

    try:
        plan = plan_from_config(_raw_config())
    except StackConfigError as e:
        raise pulumi.RunError(f"stack {pulumi.get_stack()}: {e}") from None

    from cwroles.provider import ApiMember, RolePermissions, SecurityRole

    from . import local_emulator

    if local_emulator.emulator_chosen(_connectwise_site()):
        seam = emulator or local_emulator
        prepare = seam.check_running if pulumi.runtime.is_dry_run() else seam.ensure_running
        try:
            prepare(Path(os.getcwd()), pulumi.log.info)
        except RuntimeError as e:
            raise pulumi.RunError(str(e)) from None

    role = SecurityRole(plan.role_resource, **plan.role_args)
    member = ApiMember(plan.member_resource, role_id=role.role_id, **plan.member_args)
    # The grid check impersonates the API member to read the Customize lists: passing the member's
    # identifier *output* makes it wait for the member, so the first `up` is the same on every run.
    permissions_args = {**plan.permissions_args, "member_identifier": member.identifier}
    perms = RolePermissions(plan.permissions_resource, role_id=role.role_id, role_name=role.name, **permissions_args)

    pulumi.export("integration", plan.integration)
    pulumi.export("features", plan.features)
    pulumi.export("role_id", role.role_id)
    pulumi.export("role_name", role.name)
    pulumi.export("api_member_id", member.member_id)
    pulumi.export("api_member_identifier", member.identifier)
    pulumi.export("pending", perms.pending)
    pulumi.export("customize_status", perms.customize_status)
    pulumi.export("next_step", pulumi.Output.all(perms.pending, perms.customize_status)
                  .apply(lambda v: next_step_output(plan, v[0], v[1])))
