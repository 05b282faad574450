"""The stack program: stack config + vendor manifest → security role, its permissions, an API member.

Everything that decides *what* to create is pure (``read_settings`` and ``build_plan``) and is tested
without the Pulumi engine; ``main()`` (in ``declare``) only reads config, gets the plan from them (or from
the plan cache) and declares the resources. The
parsing itself (grants, levels, waivers, allow-lists, names, limits) is the core's
(``cwroles.permissions``); this module only says which stack config key each value came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from cwroles.catalog import LEVEL_NAMES, Catalog
from cwroles.grid import Level, Waiver
from cwroles.manifest import Integrations, Manifest, ManifestFile
from cwroles.permissions import (email_problem, member_identifier_problem, member_name_problem,
                                 parse_customize, parse_customize_list, parse_grant, parse_stack_waivers,
                                 role_name_problem, waiver_json)
from cwroles.problems import LineIndex, Problem, Where

from .declare import CONFIG_KEYS, NAMESPACE, main, next_step_output  # noqa: F401 (main: the program's entry point)
from .plan import Adopt, Plan


class StackConfigError(ValueError):
    """Stack configuration an MSP admin must fix; the message says what, where and how (every problem)."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])

    @classmethod
    def of(cls, problems: list[Problem]) -> "StackConfigError":
        return cls("\n".join(str(p) for p in problems), problems)


@dataclass(frozen=True)
class ConfigSource:
    """Where the stack config was read from, for messages: ``Pulumi.<stack>.yaml`` and its lines."""

    file: Optional[str] = None
    lines: Optional[LineIndex] = None

    def where(self, key: str) -> Where:
        return Where(self.file, (key,), f"{NAMESPACE}:", self.lines, offset=("config",))

    @property
    def name(self) -> str:
        return self.file or "stack config"

    @classmethod
    def of_stack(cls, stack: str, root: Optional[Path] = None) -> "ConfigSource":
        name = f"Pulumi.{stack}.yaml"
        path = (root or Path.cwd()) / name
        try:
            return cls(name, LineIndex.from_yaml(path.read_text(encoding="utf-8")))
        except OSError:
            return cls(name)


_ADOPT_KEYS = {"roleId": "role_id", "apiMemberId": "member_id"}
_ADOPT_FIX = "write `cwroles:adopt: true` (by name and identifier) or `cwroles:adopt: {roleId: 12, apiMemberId: 34}`"


def _parse_adopt(value: Any, where: Where, problems: list[Problem]) -> Optional[Adopt]:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        else:
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                problems.append(where.problem(f"{value!r} is neither true/false nor a mapping of ids", _ADOPT_FIX))
                return None
    if isinstance(value, bool):
        return Adopt(by_key=True) if value else None
    if not isinstance(value, Mapping):
        problems.append(where.problem(f"must be true, false or a mapping of ids, got {value!r}", _ADOPT_FIX))
        return None
    ids: dict[str, int] = {}
    for key, raw in value.items():
        if key not in _ADOPT_KEYS:
            problems.append(where.key(str(key)).problem(f"unknown key {str(key)!r}",
                                                        f"allowed: {', '.join(_ADOPT_KEYS)}"))
            continue
        text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
        if not text.isdigit() or int(text) <= 0:
            problems.append(where.key(key).problem(f"must be a ConnectWise record id (a positive whole number), "
                                                   f"got {raw!r}", "`cwroles export` writes it; `cwroles audit` lists ids"))
            continue
        ids[_ADOPT_KEYS[key]] = int(text)
    if not ids and not problems:
        problems.append(where.problem("names no id", _ADOPT_FIX))
    return Adopt(**ids) if ids else None


@dataclass(frozen=True)
class StackSettings:
    integration: str
    features: tuple[str, ...] = ()
    role_name: Optional[str] = None
    role_type: Optional[str] = None  # ConnectWise's roleType of an adopted role (no enum is published)
    api_member_identifier: Optional[str] = None
    api_member_name: Optional[str] = None
    api_member_email: Optional[str] = None
    waivers: tuple[Mapping[str, Any], ...] = ()
    extra_grants: tuple[Mapping[str, Any], ...] = ()
    extra_customize: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    manifest: Optional[str] = None  # cwroles:manifest, a path relative to the project
    adopt: Optional[Adopt] = None  # cwroles:adopt


# ---- config ---------------------------------------------------------------------------------------
def _set_hint(key: str, example: str) -> str:
    return f"`pulumi config set {NAMESPACE}:{key} {example}`"


def _parse_list(key: str, value: Any, where: Where, problems: list[Problem]) -> list[Any]:
    """A list from stack config: YAML list, JSON text, or a comma-separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("["):
            return [p.strip() for p in text.split(",") if p.strip()]
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            problems.append(where.problem(f"not a valid list ({e.msg})", "write it as a YAML list in the stack file"))
            return []
    if not isinstance(value, list):
        problems.append(where.problem(f"must be a list, got {type(value).__name__}", "write it as a YAML list"))
        return []
    return value


def _parse_mapping(value: Any, where: Where, problems: list[Problem]) -> dict[str, Any]:
    """A mapping from stack config: YAML mapping or JSON object text."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            problems.append(where.problem(f"not a valid mapping ({e.msg})",
                                          "write it as a YAML mapping in the stack file"))
            return {}
    if not isinstance(value, Mapping):
        problems.append(where.problem(f"must be a mapping, got {type(value).__name__}",
                                      "write it as a YAML mapping in the stack file"))
        return {}
    return dict(value)


def _optional_text(raw: Mapping[str, Any], key: str, where: Where, problems: list[Problem]) -> Optional[str]:
    v = raw.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        problems.append(where.problem(f"must be text, got {v!r}", "quote it"))
        return None
    return v.strip() or None


def read_settings(raw: Mapping[str, Any], integrations: Integrations | None = None,
                  source: ConfigSource | None = None) -> StackSettings:
    """Validate raw stack config values (``{"integration": "mobius", "features": "[...]", ...}``)."""
    source = source or ConfigSource()
    unknown = set(raw) - set(CONFIG_KEYS)
    if unknown:
        raise StackConfigError.of([Problem(
            f"unknown stack config key(s) {', '.join(f'{NAMESPACE}:{k}' for k in sorted(unknown))}",
            f"this program reads: {', '.join(f'{NAMESPACE}:{k}' for k in CONFIG_KEYS)}", source.file)])
    integrations = integrations or Integrations.discover()
    problems: list[Problem] = []
    manifest = _optional_text(raw, "manifest", source.where("manifest"), problems)
    integration = str(raw.get("integration") or "").strip()
    names = integrations.names()
    if manifest:
        f = integrations.by_path(manifest)
        declared = f.integration if f is not None and f.manifest is not None else None
        if f is not None and declared and integration and integration != declared:
            problems.append(source.where("integration").problem(
                f"is {integration!r} but {NAMESPACE}:manifest {manifest} declares integration {declared!r}",
                f"set {NAMESPACE}:integration to {declared!r} or remove it"))
        integration = integration or declared or ""
    elif not integration:
        problems.append(Problem(  # no file: the key is not in it
            f"{NAMESPACE}:integration is not set", f"choose one of: {', '.join(names)} "
            f"(e.g. {_set_hint('integration', names[0] if names else '<name>')}), or name your own manifest with "
            f"{NAMESPACE}:manifest"))
    elif integrations.get(integration) is None:  # a broken manifest of that name is reported by manifest_for
        problems.append(Problem(
            f"{NAMESPACE}:integration is {integration!r}, which cwroles does not know",
            f"choose one of: {', '.join(names)}; or add integrations/{integration}.yaml beside Pulumi.yaml "
            "(`cwroles manifest new`)", source.file))
    features: list[str] = []
    fw = source.where("features")
    for i, f in enumerate(_parse_list("features", raw.get("features"), fw, problems)):
        if not isinstance(f, str) or not f.strip():
            problems.append(fw.index(i).problem(f"must list feature names, got {f!r}", "e.g. [time-entries]"))
        elif f.strip() not in features:
            features.append(f.strip())
    waivers = _parse_list("waivers", raw.get("waivers"), source.where("waivers"), problems)
    extra_grants = _parse_list("extraGrants", raw.get("extraGrants"), source.where("extraGrants"), problems)
    extra_customize = _parse_mapping(raw.get("extraCustomize"), source.where("extraCustomize"), problems)
    settings = StackSettings(
        integration=integration,
        features=tuple(features),
        role_name=_optional_text(raw, "roleName", source.where("roleName"), problems),
        role_type=_optional_text(raw, "roleType", source.where("roleType"), problems),
        api_member_identifier=_optional_text(raw, "apiMemberIdentifier", source.where("apiMemberIdentifier"), problems),
        api_member_name=_optional_text(raw, "apiMemberName", source.where("apiMemberName"), problems),
        api_member_email=_optional_text(raw, "apiMemberEmail", source.where("apiMemberEmail"), problems),
        waivers=tuple(waivers),
        extra_grants=tuple(extra_grants),
        extra_customize=tuple((str(k), tuple(v) if isinstance(v, list) else (v,)) for k, v in extra_customize.items()),
        manifest=manifest,
        adopt=_parse_adopt(raw.get("adopt"), source.where("adopt"), problems),
    )
    if problems:
        raise StackConfigError.of(problems)
    return settings


# ---- plan -----------------------------------------------------------------------------------------
@dataclass
class _Entry:
    """One function of the role while the plan is built."""

    module: str
    function: str
    levels: dict[str, Level]
    waiver: Optional[Waiver] = None  # covers the whole grant
    origin: Optional[str] = None  # the stack config entry that changed it


def _merge_extra_grants(settings: StackSettings, entries: dict[tuple[str, str], _Entry], scoped: list[dict[str, str]],
                        source: ConfigSource, catalog: Catalog, problems: list[Problem]) -> None:
    """Apply ``cwroles:extraGrants`` to the manifest's grants (in place).

    Same function as a manifest grant: the levels given replace the manifest's levels, levels not given
    stay. New function: appended, levels not given are None. A vendor waiver on a manifest grant covers
    only what the vendor asked for: when an extra grant changes any level of that grant, the vendor
    waiver is kept for the unchanged levels only (level-scoped stack waivers in ``scoped``), so a widened
    level is never waived by the vendor's approval. A ``waiver`` on the extra grant covers the whole grant.
    """
    seen: dict[tuple[str, str], Where] = {}
    base = source.where("extraGrants")
    for i, raw in enumerate(settings.extra_grants):
        where = base.index(i)
        row, p = parse_grant(raw, where, catalog)
        problems += p
        if row is None:
            continue
        here = row.where
        if row.key in seen:
            problems.append(here.problem(f"{row.label} is already in {seen[row.key].field}", "merge them into one entry"))
            continue
        seen[row.key] = here
        if not row.given:
            problems.append(here.problem("names no level", "give add, edit, delete and/or inquire as None, My or All"))
            continue
        origin = f"{source.file} › {where.field}" if source.file else f"stack config {where.field}"
        entry = entries.get(row.key)
        if entry is None:
            if not row.granted():
                problems.append(here.problem(f"every level is None and the vendor manifest does not grant {row.label}",
                                             "remove the entry"))
                continue
            entries[row.key] = _Entry(row.module, row.function, dict(row.levels), row.waiver, origin)
            continue
        before = dict(entry.levels)
        entry.levels = {n: row.given.get(n, before[n]) for n in LEVEL_NAMES}
        entry.origin = origin
        if entry.waiver is not None and entry.levels != before:
            scoped += [{"module": row.module, "function": row.function, "level": n, **waiver_json(entry.waiver)}
                       for n in LEVEL_NAMES if entry.levels[n] is not Level.NONE and entry.levels[n] == before[n]]
            entry.waiver = None
        if row.waiver is not None:
            entry.waiver = row.waiver


def next_step_text(identifier: str, vendor: str) -> str:
    return (
        f"Create the API key by hand: in ConnectWise PSA open System › Members › API Members › {identifier} › "
        f"API Keys, click +, save, and hand the public and private key to {vendor} (the private key is shown only "
        "once; cwroles never sees it)."
    )


def build_plan(manifest: Manifest, settings: StackSettings, catalog: Catalog | None = None,
               source: ConfigSource | None = None) -> Plan:
    """The resource arguments for ``settings`` (pure: no engine, no network)."""
    catalog = manifest.catalog(catalog)  # the bundled catalog, plus the tenant's own entries the manifest names
    source = source or ConfigSource()
    problems: list[Problem] = []
    integration = manifest.integration
    enabled = set(settings.features) | manifest.default_features()
    bad = sorted(enabled - {f.name for f in manifest.features})
    if bad:
        known = ", ".join(f.name for f in manifest.features) or f"none (leave {NAMESPACE}:features empty)"
        raise StackConfigError.of([source.where("features").problem(
            f"{manifest.title} has no feature {', '.join(map(repr, bad))}", f"its features are: {known}")])

    entries: dict[tuple[str, str], _Entry] = {}
    scoped: list[dict[str, str]] = []
    for m in manifest.merged(enabled, catalog):
        entries[m.key] = _Entry(m.module, m.function, dict(m.levels), m.waiver)
        scoped += [{"module": m.module, "function": m.function, "level": n, **waiver_json(w)}
                   for n, w in m.scoped_waivers]
    _merge_extra_grants(settings, entries, scoped, source, catalog, problems)
    grant_args: list[dict[str, Any]] = []
    granted = {}
    for key, e in entries.items():
        granted[key] = e.levels
        arg: dict[str, Any] = {"module": e.module, "function": e.function,
                               **{n: e.levels[n].value for n in LEVEL_NAMES}}
        if e.waiver is not None:
            arg["waiver"] = waiver_json(e.waiver)
        if e.origin is not None:
            arg["origin"] = e.origin
        grant_args.append(arg)

    customize: dict[str, list[str]] = {}
    for fn, items in manifest.customize_for(enabled).items():
        key, canon, _ = parse_customize_list(fn, items, Where(manifest.path), catalog)
        if key is not None:
            customize.setdefault(key, [])
            customize[key] += [c for c in canon if c not in customize[key]]
    extra, p = parse_customize({k: list(v) for k, v in settings.extra_customize}, source.where("extraCustomize"),
                               catalog)
    problems += p
    for key, items in extra.items():
        customize.setdefault(key, [])
        customize[key] += [c for c in items if c not in customize[key]]

    waivers, p = parse_stack_waivers(list(settings.waivers), source.where("waivers"), catalog, granted)
    problems += p

    role_name = settings.role_name or manifest.role.name
    identifier = settings.api_member_identifier or manifest.api_member.identifier
    member_name = settings.api_member_name or manifest.api_member.name
    for key, value, check, what in (
            ("roleName", settings.role_name, role_name_problem, "the role name"),
            ("apiMemberIdentifier", settings.api_member_identifier, member_identifier_problem, "the identifier"),
            ("apiMemberName", settings.api_member_name, member_name_problem, "the name"),
            ("apiMemberEmail", settings.api_member_email, email_problem, "the address")):
        found = check(value, what) if value is not None else None  # the manifest's own values are checked with it
        if found:
            problems.append(source.where(key).problem(*found))
    errors = [x for x in problems if x.is_error]
    if errors:
        raise StackConfigError.of(errors)

    features = sorted(enabled)
    permissions_args: dict[str, Any] = {
        "grants": grant_args,
        "customize": customize,
        "integration": integration,
        "features": features,
        "waivers": [w.to_json() for w in waivers] + scoped,
        "member_identifier": identifier,
    }
    if not manifest.builtin:  # the pack cannot read the project's files: it gets the ceiling with the role
        permissions_args["requirement"] = manifest.requirement(catalog).model_dump(mode="json")
    if manifest.tenant_catalog is not None and not manifest.tenant_catalog.is_empty():
        permissions_args["tenant_catalog"] = manifest.tenant_catalog.to_json()
    return Plan(
        integration=integration,
        title=manifest.title,
        role_resource=f"{integration}-role",
        permissions_resource=f"{integration}-permissions",
        member_resource=f"{integration}-api-member",
        role_args={"name": role_name, **({"role_type": settings.role_type} if settings.role_type else {})},
        permissions_args=permissions_args,
        member_args={"identifier": identifier, "name": member_name, "email_address": settings.api_member_email},
        next_step=next_step_text(identifier, manifest.title),
        features=features,
        notices=[x for x in problems if not x.is_error],
        adopt=settings.adopt,
    )


def manifest_for(settings: StackSettings, integrations: Integrations, source: ConfigSource | None = None) -> Manifest:
    """The manifest the settings name; its problems (file, line, field) when it is not usable."""
    source = source or ConfigSource()
    f: Optional[ManifestFile] = (integrations.by_path(settings.manifest) if settings.manifest
                                 else integrations.get(settings.integration))
    if f is None:
        where = source.where("manifest" if settings.manifest else "integration")
        raise StackConfigError.of([where.problem(
            f"names {settings.manifest or settings.integration!r}, which is not a manifest cwroles can read",
            "check the path (relative to the folder of Pulumi.yaml)")])
    if not f.ok:
        raise StackConfigError.of([Problem(f"the manifest {f.display} has {len(f.errors)} problem(s); fix them "
                                           f"(`cwroles manifest validate {f.display}`)", "", source.file)] + f.errors)
    return f.manifest  # type: ignore[return-value]


def plan_from_config(raw: Mapping[str, Any], catalog: Catalog | None = None, *, root: Optional[Path] = None,
                     source: ConfigSource | None = None) -> Plan:
    """The plan for raw stack config; ``root`` is the project folder whose integrations/ (and the
    ``cwroles:manifest`` path) hold the user's own manifests (default: built-in manifests only)."""
    manifest_path = raw.get("manifest") if isinstance(raw.get("manifest"), str) else None
    integrations = Integrations.discover(root, [manifest_path] if manifest_path else [], stack_files=False,
                                         catalog=catalog)
    settings = read_settings(raw, integrations, source)
    return build_plan(manifest_for(settings, integrations, source), settings, catalog, source)
