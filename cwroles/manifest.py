"""Vendor requirements as data: one manifest per integration.

A manifest transcribes a vendor's page: the role name it asks for, every grant with a reason and the
place on the page it comes from, the Customize allow-lists, and the vendor's conditional rows as
*features* the user switches on in stack config. A feature row may raise a base row's levels (the
two merge as the maximum per verb).

Manifests live in the package (``data/integrations/*.yaml``, the built-in ones) and in the user's
Pulumi project: an ``integrations/`` folder beside Pulumi.yaml, or any file named by stack config
``cwroles:manifest``. :func:`check_manifest` validates one document and reports every problem with
its file, line, field and fix; :class:`Integrations` finds them all. The manifest is also the policy
pack's ceiling for the role (:meth:`Manifest.requirement`): one source of truth for what a vendor asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .catalog import LEVEL_NAMES, Catalog, LevelName, data_file, load_catalog
from .catalog_extras import CatalogExtras, extend, parse_extras
from .grid import Grant, Level, Waiver, desired_grid
from .names import join_function, resolve_function
from .permissions import (MEMBER_IDENTIFIER_MAX, MEMBER_NAME_MAX, ROLE_NAME_MAX, GrantRow, did_you_mean, max_levels,
                          member_identifier_problem, member_name_problem, parse_customize_list, parse_grant,
                          role_name_problem, unknown_keys)
from .problems import LineIndex, Problem, Where
from .project import PROJECT_FOLDER, find_project_root, folder_manifests, project_path

BUILTIN_FOLDER = "cwroles/data/integrations"  # as shown in messages
MANIFEST_CONFIG_KEY = "cwroles:manifest"
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
_NAME_RE = re.compile(NAME_PATTERN)
SCHEMA_FILE = "manifest.schema.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Feature(_Model):
    """A row (or allow-list) the vendor marks as conditional; the user switches it on in stack config."""

    name: str = Field(pattern=NAME_PATTERN, description="Lower-case name used in stack config cwroles:features")
    description: str = Field(description="When the vendor says this is needed (quote the page's condition)")
    default: bool = Field(default=False, description="On unless the stack config leaves it out (rarely right)")


class ManifestGrant(Grant):
    reason: str = Field(description="Why the vendor needs it, in one line")
    source: str = Field(description="Where on the vendor page, e.g. 'acme.txt › Step 2 › Contacts'")
    feature: Optional[str] = Field(default=None, description="Granted only when this feature is on")


class CustomizeList(_Model):
    function: str = Field(description="'Module › Function' with a Customize list, e.g. 'System › Table Setup'")
    items: list[str] = Field(description="Allow-list entries; Table Setup tables as 'Category / Table'")
    reason: str
    source: str
    feature: Optional[str] = None


class RoleSpec(_Model):
    name: str = Field(max_length=ROLE_NAME_MAX, description="The security role's name (UI 'Role ID')")


class ApiMemberSpec(_Model):
    identifier: str = Field(max_length=MEMBER_IDENTIFIER_MAX, description="UI 'Member ID'")
    name: str = Field(max_length=MEMBER_NAME_MAX, description="UI 'Member Name'")


@dataclass
class MergedGrant:
    """One function's grant for a set of features: the rows that ask for it merged, max per verb."""

    module: str  # catalog spelling
    function: str
    levels: dict[LevelName, Level]
    rows: list[ManifestGrant]  # contributing rows, in file order
    raised_by: dict[LevelName, str] = field(default_factory=dict)  # level → feature that raised it
    waiver: Optional[Waiver] = None  # covers the whole grant
    scoped_waivers: list[tuple[LevelName, Waiver]] = field(default_factory=list)  # cover one level each

    @property
    def key(self) -> tuple[str, str]:
        return self.module, self.function

    @property
    def where(self) -> str:
        return join_function(self.module, self.function)


class Manifest(_Model):
    """An integration's manifest (schema of data/integrations/*.yaml and of a project's integrations/*.yaml)."""

    integration: str = Field(pattern=NAME_PATTERN, description="Name used in stack config cwroles:integration")
    title: str = Field(description="The vendor's product name")
    vendor_page: str = Field(description="The page this transcribes (path or URL)")
    role: RoleSpec
    api_member: ApiMemberSpec
    features: list[Feature] = []
    grants: list[ManifestGrant]
    customize: list[CustomizeList] = []
    notes: str = ""
    tenant_catalog: Optional[CatalogExtras] = Field(
        default=None, description="Entries of the tenant's own catalog that cwroles' bundled catalog lacks (as "
                                  "`cwroles catalog diff` prints them); grants and allow-lists may name them")
    _path: str = PrivateAttr(default="")
    _builtin: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _features_declared(self) -> "Manifest":
        declared = {f.name for f in self.features}
        used = {g.feature for g in self.grants if g.feature} | {c.feature for c in self.customize if c.feature}
        unknown = used - declared
        if unknown:
            raise ValueError(f"features used but not declared: {sorted(unknown)}")
        return self

    @property
    def path(self) -> str:
        """The file this manifest was read from, as shown in messages."""
        return self._path or f"{BUILTIN_FOLDER}/{self.integration}.yaml"

    @property
    def builtin(self) -> bool:
        return self._builtin

    def default_features(self) -> set[str]:
        return {f.name for f in self.features if f.default}

    def check_features(self, enabled: set[str]) -> None:
        unknown = enabled - {f.name for f in self.features}
        if unknown:
            known = ", ".join(f.name for f in self.features) or "none"
            raise ValueError(f"{self.title}: unknown feature(s) {sorted(unknown)}; this integration has: {known}")

    # ---- grants for a set of features ------------------------------------------------------------
    def catalog(self, catalog: Catalog | None = None) -> Catalog:
        """The catalog this manifest's names resolve in: the bundled one plus its ``tenant_catalog``."""
        return extend(self.tenant_catalog, catalog)

    def merged(self, enabled: set[str], catalog: Catalog | None = None) -> list[MergedGrant]:
        """The grants for ``enabled``, one per function: base and feature rows merged (max per verb)."""
        self.check_features(enabled)
        catalog = self.catalog(catalog)
        by_key: dict[tuple[str, str], MergedGrant] = {}
        for g in self.grants:
            if g.feature is not None and g.feature not in enabled:
                continue
            r = resolve_function(g.module, g.function, catalog)
            m = by_key.get(r.key)
            if m is None:
                by_key[r.key] = MergedGrant(r.module.name, r.function.name, g.levels(), [g])
                continue
            before = m.levels
            m.levels = max_levels(before, g.levels())
            m.rows.append(g)
            for n in LEVEL_NAMES:
                if m.levels[n].rank > before[n].rank and g.feature:
                    m.raised_by[n] = g.feature
        for m in by_key.values():
            _place_waivers(m)
        return list(by_key.values())

    def grants_for(self, enabled: set[str]) -> list[ManifestGrant]:
        """The grants for ``enabled`` as manifest rows (merged rows carry the merged levels)."""
        out: list[ManifestGrant] = []
        for m in self.merged(enabled):
            if len(m.rows) == 1:
                out.append(m.rows[0])
                continue
            base = m.rows[0]
            levels: dict[str, Any] = {str(n): lv for n, lv in m.levels.items()}
            out.append(base.model_copy(update={
                **levels, "waiver": m.waiver,
                "reason": "; ".join(dict.fromkeys(r.reason for r in m.rows)),
                "source": "; ".join(dict.fromkeys(r.source for r in m.rows)),
            }))
        return out

    def customize_for(self, enabled: set[str]) -> dict[str, list[str]]:
        """{"System › Table Setup": [items]} for the enabled features (lists merged per function)."""
        self.check_features(enabled)
        out: dict[str, list[str]] = {}
        for c in self.customize:
            if c.feature is None or c.feature in enabled:
                out.setdefault(c.function, [])
                out[c.function] += [i for i in c.items if i not in out[c.function]]
        return out

    def validate_against(self, catalog: Catalog | None = None) -> None:
        """Every grant and allow-list item must exist in the catalog (raises with all problems)."""
        problems = [p for p in check_manifest(self.model_dump(mode="json"), Where(self.path), catalog)
                    if p.is_error]
        if problems:
            raise ValueError("; ".join(str(p) for p in problems))
        desired_grid(self.grants_for({f.name for f in self.features}), self.catalog(catalog))

    def requirement(self, catalog: Catalog | None = None) -> "Requirement":
        """The vendor's published requirement as the policy pack's ceiling."""
        catalog = self.catalog(catalog)
        rows = []
        for g in self.grants:
            r = resolve_function(g.module, g.function, catalog)
            levels = {n: lv.value for n, lv in g.levels().items() if lv is not Level.NONE}
            rows.append(RequirementRow(module=r.module.name, function=r.function.name, levels=levels,
                                       feature=g.feature))
        lists = []
        for c in self.customize:
            fn, items, _ = parse_customize_list(c.function, c.items, Where(self.path), catalog)
            if fn is not None:
                lists.append(RequirementList(function=fn, items=items, feature=c.feature))
        return Requirement(integration=self.integration, title=self.title, manifest=self.path,
                           vendor_page=self.vendor_page, features={f.name: f.description for f in self.features},
                           grants=rows, customize=lists)


def _place_waivers(m: MergedGrant) -> None:
    """A row's waiver covers what that row asks for: the whole grant when the row's levels are the merged
    ones, else each level of the row that the merge did not raise."""
    for g in m.rows:
        if g.waiver is None:
            continue
        if g.levels() == m.levels and m.waiver is None:
            m.waiver = g.waiver
            continue
        m.scoped_waivers += [(n, g.waiver) for n, lv in g.levels().items()
                             if lv is not Level.NONE and m.levels[n] == lv]


# ---- the requirement (the pack's ceiling) ---------------------------------------------------------
class RequirementRow(_Model):
    module: str
    function: str
    levels: dict[LevelName, str]  # granted levels only
    feature: Optional[str] = None

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: dict[LevelName, str]) -> dict[LevelName, str]:
        return {n: Level.parse(lv).value for n, lv in v.items()}  # a ceiling of "Everything" is no ceiling

    def level(self, n: LevelName) -> Level:
        return Level.parse(self.levels.get(n))


class RequirementList(_Model):
    function: str  # "Module › Function", catalog spelling
    items: list[str]
    feature: Optional[str] = None


class Requirement(_Model):
    """What a vendor asks for (from its manifest): the ceiling the policy pack holds a role to."""

    integration: str
    title: str
    manifest: str  # the file that states it
    vendor_page: str = ""
    features: dict[str, str] = {}
    grants: list[RequirementRow] = []
    customize: list[RequirementList] = []

    @model_validator(mode="after")
    def _features_declared(self) -> "Requirement":
        used = {r.feature for r in self.grants if r.feature} | {c.feature for c in self.customize if c.feature}
        unknown = used - set(self.features)
        if unknown:
            raise ValueError(f"features used but not declared: {sorted(unknown)}")
        return self

    def ceiling(self, module: str, function: str, enabled: set[str]) -> tuple[dict[LevelName, Level], Optional[RequirementRow]]:
        """Ceiling levels for a function with the features ``enabled``; also a feature-gated row that
        would allow it when that feature is off (to explain the violation)."""
        ceiling = {n: Level.NONE for n in LEVEL_NAMES}
        gated: Optional[RequirementRow] = None
        for row in self.grants:
            if (row.module, row.function) != (module, function):
                continue
            if row.feature and row.feature not in enabled:
                gated = gated or row
                continue
            ceiling = max_levels(ceiling, {n: row.level(n) for n in LEVEL_NAMES})
        return ceiling, gated

    def lists(self, module: str, function: str) -> bool:
        return any((r.module, r.function) == (module, function) for r in self.grants)

    def allowed_items(self, function: str, enabled: set[str]) -> tuple[set[str], dict[str, str]]:
        """Allowed Customize items for ``function``; plus item → feature for items gated off."""
        allowed: set[str] = set()
        gated: dict[str, str] = {}
        for c in self.customize:
            if c.function != function:
                continue
            if c.feature and c.feature not in enabled:
                gated.update({i: c.feature for i in c.items})
            else:
                allowed.update(c.items)
        return allowed, gated


# ---- validation ---------------------------------------------------------------------------------
_TOP_KEYS = {"integration": str, "title": str, "vendor_page": str, "role": dict, "api_member": dict,
             "features": list, "grants": list, "customize": list, "notes": str, "tenant_catalog": dict}
_REQUIRED = ("integration", "title", "vendor_page", "role", "api_member", "grants")
_TYPE_WORDS = {str: "text", dict: "a mapping", list: "a list", bool: "true or false"}
_GRANT_META = ("reason", "source", "feature")
_LIST_KEYS = ("function", "items", "reason", "source", "feature")


def _type_name(v: Any) -> str:
    if v is None:
        return "nothing"
    return {str: "text", dict: "a mapping", list: "a list", bool: "true/false", int: "a number",
            float: "a number"}.get(type(v), type(v).__name__)


def _check_keys(raw: Mapping[str, Any], spec: Mapping[str, type], required: Iterable[str], where: Where,
                what: str) -> list[Problem]:
    problems = unknown_keys(raw, spec, where)
    for k in required:
        if raw.get(k) is None:
            problems.append(where.key(k).problem(f"{what} is missing {k}", f"add `{k}:`"))
    for k, typ in spec.items():
        v = raw.get(k)
        if v is None or isinstance(v, typ) and not (typ is str and isinstance(v, bool)):
            continue
        if typ is str and isinstance(v, (int, float)) and not isinstance(v, bool):
            continue  # a number where text is expected is still text once quoted; accept it
        problems.append(where.key(k).problem(f"{k} must be {_TYPE_WORDS[typ]}, got {_type_name(v)}",
                                             _type_fix(k, typ)))
    return problems


def _type_fix(key: str, typ: type) -> str:
    if typ is list:
        return f"write {key} as a YAML list (one `- …` per entry), or `{key}: []`"
    if typ is dict:
        return f"write {key} as a mapping of keys below it"
    if typ is bool:
        return f"write {key}: true or {key}: false"
    return f"write {key} as text (quote it)"


def _text(raw: Mapping[str, Any], key: str, where: Where, what: str) -> list[Problem]:
    v = raw.get(key)
    if v is None or not str(v).strip():
        return [where.key(key).problem(f"{what} is empty", f"write the {key} (one line)")]
    return []


def check_manifest(data: Any, where: Where, catalog: Catalog | None = None) -> list[Problem]:
    """Every problem (and notice) in one manifest document, feature rows included."""
    catalog = catalog or load_catalog()
    if data is None:
        return [where.problem("the file is empty", "start from `cwroles manifest new NAME`")]
    if not isinstance(data, Mapping):
        return [where.problem(f"a manifest is a mapping of {', '.join(_REQUIRED)}, …; this file holds {_type_name(data)}",
                              "start from `cwroles manifest new NAME`")]
    problems = _check_keys(data, _TOP_KEYS, _REQUIRED, where, "the manifest")
    if isinstance(data.get("tenant_catalog"), Mapping):  # the tenant's own entries: names below may use them
        extras, p = parse_extras(data["tenant_catalog"], where.key("tenant_catalog"))
        problems += p
        catalog = extend(extras, catalog)
    name = data.get("integration")
    if isinstance(name, str) and not _NAME_RE.match(name):
        problems.append(where.key("integration").problem(
            f"integration {name!r} is not a valid name", "use lower-case letters, digits and '-' (at most 40), e.g. acme-rmm"))
    for key in ("title", "vendor_page"):
        if isinstance(data.get(key), str):
            problems += _text(data, key, where, key)
    problems += _check_role(data, where)
    features, fp = _check_features(data, where)
    problems += fp
    if isinstance(data.get("grants"), list):
        problems += _check_grants(data["grants"], where.key("grants"), features, catalog)
        if not data["grants"]:
            problems.append(where.key("grants").problem("grants is empty", "list every row the vendor page asks for"))
    if isinstance(data.get("customize"), list):
        problems += _check_lists(data["customize"], where.key("customize"), features, catalog)
    return problems


def _check_role(data: Mapping[str, Any], where: Where) -> list[Problem]:
    problems: list[Problem] = []
    role = data.get("role")
    if isinstance(role, Mapping):
        w = where.key("role")
        problems += _check_keys(role, {"name": str}, ("name",), w, "role")
        if isinstance(role.get("name"), str):
            p = role_name_problem(role["name"], "role name")
            if p:
                problems.append(w.key("name").problem(*p))
    member = data.get("api_member")
    if isinstance(member, Mapping):
        w = where.key("api_member")
        problems += _check_keys(member, {"identifier": str, "name": str}, ("identifier", "name"), w, "api_member")
        if isinstance(member.get("identifier"), str):
            p = member_identifier_problem(member["identifier"])
            if p:
                problems.append(w.key("identifier").problem(*p))
        if isinstance(member.get("name"), str):
            p = member_name_problem(member["name"])
            if p:
                problems.append(w.key("name").problem(*p))
    return problems


def _check_features(data: Mapping[str, Any], where: Where) -> tuple[set[str], list[Problem]]:
    problems: list[Problem] = []
    names: set[str] = set()
    raw = data.get("features")
    if not isinstance(raw, list):
        return names, problems
    for i, f in enumerate(raw):
        w = where.key("features").index(i)
        if not isinstance(f, Mapping):
            problems.append(w.problem(f"a feature is a mapping of name and description, got {_type_name(f)}",
                                      "write `- {name: my-feature, description: …}`"))
            continue
        problems += _check_keys(f, {"name": str, "description": str, "default": bool}, ("name", "description"), w,
                                "the feature")
        n = f.get("name")
        if isinstance(n, str):
            if not _NAME_RE.match(n):
                problems.append(w.key("name").problem(f"feature name {n!r} is not valid",
                                                      "use lower-case letters, digits and '-', e.g. time-entries"))
            if n in names:
                problems.append(w.key("name").problem(f"feature {n!r} is declared twice", "keep one of them"))
            names.add(n)
    return names, problems


def _feature_problem(row: Mapping[str, Any], w: Where, features: set[str]) -> list[Problem]:
    feat = row.get("feature")
    if feat is None or feat in features:
        return []
    declared = ", ".join(sorted(features)) or "none"
    return [w.key("feature").problem(f"feature {feat!r} is not declared under features",
                                     f"{did_you_mean(str(feat), sorted(features))}declare it under features "
                                     f"(declared: {declared})")]


def _check_grants(rows: list[Any], where: Where, features: set[str], catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[tuple[str, str], Optional[str]], GrantRow] = {}
    base: dict[tuple[str, str], GrantRow] = {}
    feature_rows: list[tuple[GrantRow, str]] = []
    for i, raw in enumerate(rows):
        w = where.index(i)
        row, p = parse_grant(raw, w, catalog, carried=_GRANT_META)
        problems += p
        if not isinstance(raw, Mapping):
            continue
        for key in ("reason", "source"):
            if raw.get(key) is None or not str(raw.get(key)).strip():
                problems.append(w.key(key).problem(
                    f"grant is missing {key}", "say why the vendor needs it" if key == "reason"
                    else "say where on the vendor page it is, e.g. 'acme.txt › Step 2'"))
        problems += _feature_problem(raw, w, features)
        if row is None:
            continue
        if not row.granted():
            problems.append(row.where.problem("grants nothing (every level is None)",
                                              "give at least one of add, edit, delete, inquire, or remove the row"))
            continue
        feature = raw.get("feature")
        scope = (row.key, feature)
        if scope in seen:
            also = seen[scope].where.field
            what = f"with feature {feature!r} " if feature else ""
            problems.append(row.where.problem(f"duplicate grant for {row.label} {what}(also {also})",
                                              "merge them into one"))
            continue
        seen[scope] = row
        if feature is None:
            base[row.key] = row
        else:
            feature_rows.append((row, feature))
    for row, feature in feature_rows:
        b = base.get(row.key)
        if b is not None and all(row.levels[n].rank <= b.levels[n].rank for n in LEVEL_NAMES):
            problems.append(row.where.notice(f"feature {feature!r} adds nothing to the base grant for {row.label} "
                                             f"({b.where.field})", "remove the row or raise a level in it"))
    return problems


def _check_lists(rows: list[Any], where: Where, features: set[str], catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    for i, raw in enumerate(rows):
        w = where.index(i)
        if not isinstance(raw, Mapping):
            problems.append(w.problem(f"a customize entry is a mapping of function, items, reason and source, got "
                                      f"{_type_name(raw)}", "write `- {function: System › Table Setup, items: [...], "
                                                           "reason: …, source: …}`"))
            continue
        problems += _check_keys(raw, {"function": str, "items": list, "reason": str, "source": str, "feature": str},
                                ("function", "items", "reason", "source"), w, "the customize entry")
        problems += _feature_problem(raw, w, features)
        if isinstance(raw.get("function"), str) and isinstance(raw.get("items"), list):
            _, items, p = parse_customize_list(raw["function"], raw["items"], w.key("items"), catalog)
            # the function name's problems belong to the function key
            problems += [_move(x, w.key("function")) if x.field == w.key("items").field else x for x in p]
            if len(items) < len([x for x in raw["items"] if isinstance(x, str)]) and not any(x.is_error for x in p):
                problems.append(w.key("items").notice("an item is listed twice", "keep one"))
    return problems


def _move(p: Problem, w: Where) -> Problem:
    return Problem(p.message, p.fix, p.file, w.line, w.field, p.severity, p.label)


# ---- files ------------------------------------------------------------------------------------------
@dataclass
class ManifestFile:
    """One manifest file as read: the manifest (None when it has errors) and its problems."""

    path: Optional[Path]  # None for built-ins read from the package
    display: str  # as shown in messages: relative to the project, or cwroles/data/integrations/…
    manifest: Optional[Manifest]
    problems: list[Problem]
    builtin: bool = False
    lines: Optional[LineIndex] = None
    declared: Optional[str] = None  # the integration name it declares, even when it has errors

    @property
    def ok(self) -> bool:
        return self.manifest is not None and not any(p.is_error for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def notices(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def integration(self) -> Optional[str]:
        if self.manifest is not None:
            return self.manifest.integration
        return self.declared


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_manifest_text(text: str, display: str, catalog: Catalog | None = None, builtin: bool = False,
                        path: Optional[Path] = None) -> ManifestFile:
    """Validate a manifest's text; never raises for bad input."""
    where = Where(display, lines=LineIndex.from_yaml(text))
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        p = Problem(f"not valid YAML: {what}",
                    "fix the YAML at that line (indentation, a missing ':' after a key, an unclosed quote or bracket)",
                    display, mark.line + 1 if mark is not None else None)
        return ManifestFile(path, display, None, [p], builtin, where.lines)
    problems = _duplicate_keys(text, display) + check_manifest(data, where, catalog)
    declared = data.get("integration") if isinstance(data, Mapping) and isinstance(data.get("integration"), str) else None
    if declared is None and path is not None:
        declared = path.stem
    manifest = None
    if not any(p.is_error for p in problems):
        try:
            manifest = Manifest.model_validate(data)
        except Exception as e:
            problems.append(Problem(f"not a valid manifest: {str(e).splitlines()[0]}", "see `cwroles manifest schema`",
                                    display))
        else:
            manifest._path = display
            manifest._builtin = builtin
    return ManifestFile(path, display, manifest, problems, builtin, where.lines, declared)


def _duplicate_keys(text: str, display: str) -> list[Problem]:
    """A key written twice in one mapping (YAML keeps the last one silently)."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return []
    out: list[Problem] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in node.value:
                key = getattr(k, "value", "?")
                if key in seen:
                    out.append(Problem(f"key {key!r} appears twice (also line {seen[key]}); YAML keeps only the last",
                                       "keep one of them", display, k.start_mark.line + 1, f"{path}.{key}".strip(".")))
                seen.setdefault(key, k.start_mark.line + 1)
                walk(v, f"{path}.{key}")
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, f"{path}[{i}]")

    if root is not None:
        walk(root, "")
    return out


def load_manifest_file(path: Path, display: Optional[str] = None, catalog: Catalog | None = None) -> ManifestFile:
    display = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return ManifestFile(path, display, None, [Problem(f"cannot read the file ({reason})",
                                                          "check the path and that it is a UTF-8 text file", display)])
    return parse_manifest_text(text, display, catalog, path=path)


def manifest_names() -> list[str]:
    """The built-in integrations (shipped in the package)."""
    d = data_file("integrations")
    return sorted(p.name.removesuffix(".yaml") for p in d.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=None)
def builtin_file(integration: str) -> ManifestFile:
    text = data_file(f"integrations/{integration}.yaml").read_text("utf-8")
    return parse_manifest_text(text, f"{BUILTIN_FOLDER}/{integration}.yaml", builtin=True)


@lru_cache(maxsize=None)
def load_manifest(integration: str) -> Manifest:
    """A built-in manifest by name (raises ValueError naming the choices or the problems)."""
    names = manifest_names()
    if integration not in names:
        raise ValueError(f"unknown integration {integration!r}; choose one of: {', '.join(names)}")
    f = builtin_file(integration)
    if not f.ok:
        raise ValueError("; ".join(str(p) for p in f.errors))
    return f.manifest  # type: ignore[return-value]


# ---- a project's own manifests -----------------------------------------------------------------------
def _display(path: Path, root: Optional[Path]) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve())) if root else str(path)
    except ValueError:
        return str(path)


def stack_manifest_paths(root: Path) -> list[str]:
    """Paths named by stack config ``cwroles:manifest`` in the project's stack files."""
    out: list[str] = []
    for f in sorted(root.glob("Pulumi.*.yaml")):
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        value = (doc.get("config") or {}).get(MANIFEST_CONFIG_KEY) if isinstance(doc, dict) else None
        if isinstance(value, str) and value.strip() and value.strip() not in out:
            out.append(value.strip())
    return out


@dataclass
class Integrations:
    """Every manifest a project can use: the built-in ones, then the project's own."""

    files: list[ManifestFile]
    root: Optional[Path] = None

    @classmethod
    def discover(cls, root: Optional[Path] = None, extra: Iterable[str | Path] = (), *,
                 stack_files: bool = True, catalog: Catalog | None = None) -> "Integrations":
        """Built-ins, ``<root>/integrations/*.yaml``, stack config ``cwroles:manifest`` paths (when
        ``stack_files``) and ``extra`` paths (relative to ``root``)."""
        files = [builtin_file(n) for n in manifest_names()]
        builtin = {f.integration for f in files}
        paths = folder_manifests(root) if root is not None else []
        if root is not None and stack_files:
            paths += [root / p for p in stack_manifest_paths(root)]
        paths += [project_path(root, p) for p in extra]
        seen_paths: set[Path] = set()
        owners: dict[str, ManifestFile] = {}
        for p in paths:
            key = p.resolve()
            if key in seen_paths:
                continue
            seen_paths.add(key)
            f = load_manifest_file(p, _display(p, root), catalog)
            files.append(f)
            _check_name(f, builtin, owners, in_folder=p.parent.resolve() == (root / PROJECT_FOLDER).resolve()
                        if root is not None else False)
        return cls(files, root)

    def names(self) -> list[str]:
        return [f.integration for f in self.files if f.ok and f.integration]

    def user_files(self) -> list[ManifestFile]:
        return [f for f in self.files if not f.builtin]

    def get(self, integration: str) -> Optional[ManifestFile]:
        """The usable manifest of that name, else a broken file that declares it (to report its problems)."""
        for f in self.files:
            if f.integration == integration and f.ok:
                return f
        for f in self.files:
            if f.integration == integration and not f.builtin:
                return f
        return None

    def by_path(self, path: str | Path) -> Optional[ManifestFile]:
        target = Path(path) if self.root is None or Path(path).is_absolute() else self.root / path
        for f in self.files:
            if f.path is not None and f.path.resolve() == target.resolve():
                return f
        return None


def _check_name(f: ManifestFile, builtin: set[Optional[str]], owners: dict[str, ManifestFile], in_folder: bool) -> None:
    if f.manifest is None:
        return
    name = f.manifest.integration
    w = Where(f.display, lines=f.lines).key("integration")
    if name in builtin:
        f.problems.append(w.problem(f"integration {name!r} is the name of a built-in integration",
                                    f"choose another name, e.g. {name + '-custom'!r}; built-in names: "
                                    f"{', '.join(sorted(n for n in builtin if n))}"))
    elif in_folder and f.path is not None and f.path.stem != name:
        f.problems.append(w.problem(f"the file is named {f.path.name} but declares integration {name!r}",
                                    f"rename the file to {name}.yaml, or set integration: {f.path.stem}"))
    elif name in owners:
        f.problems.append(w.problem(f"integration {name!r} is also declared by {owners[name].display}",
                                    "give each manifest its own integration name"))
    else:
        owners[name] = f
    if not f.ok:
        f.declared = name
        f.manifest = None


def json_schema() -> dict[str, Any]:
    """JSON Schema of a manifest (for editors; `cwroles manifest schema`)."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "cwroles integration manifest"
    return schema


__all__ = ["Manifest", "ManifestGrant", "MergedGrant", "CustomizeList", "Feature", "RoleSpec", "ApiMemberSpec",
           "Waiver", "Requirement", "RequirementRow", "RequirementList", "ManifestFile", "Integrations",
           "check_manifest", "parse_manifest_text", "load_manifest_file", "load_manifest", "manifest_names",
           "builtin_file", "find_project_root", "stack_manifest_paths", "json_schema", "BUILTIN_FOLDER",
           "PROJECT_FOLDER", "MANIFEST_CONFIG_KEY", "SCHEMA_FILE"]
