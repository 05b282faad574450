"""The emulator's backend: every company's state and the rules ConnectWise applies to it.

``Backend`` holds all companies (one SQLite file, see ``store.py``); ``Backend.tenant(company_id)``
gives a ``Tenant``, whose methods are the only place a rule lives: name limits and uniqueness,
what a new role's grid holds, which levels a function has, who may delete a role, how an API member
is validated, patched and deactivated, how keys and tokens authenticate, what a permission needs.
The REST handlers (``responses/``), the console and the admin endpoints call these methods and only
translate their results and errors (``errors.py``) into HTTP.

Inputs that come from ConnectWise's wire format (a role or API member body, PATCH operations) are
taken as mappings with ConnectWise's field names, because validating them *is* the rule; the
errors name those fields.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Optional

from cwroles import emulator_defaults as D
from cwroles.api_permissions import Permission
from cwroles.catalog import LEVEL_NAMES, Catalog, CatalogError, load_catalog
from cwroles.grid import Level

from .errors import Denied, Exists, FieldError, Invalid, NotFound
from .records import REF_KINDS, AllowedItem, ApiKey, Company, FunctionInfo, GridRow, Member, Ref, Role
from .store import Store
from .tenant_catalog import CatalogExtras, TenantCatalog

ADMIN_ROLE = "Admin"
ADMIN_NAME = "cwsim Administrator"
BOOTSTRAP_REFS = [
    ("structure", "Corporate", None),
    ("location", "Main", None),
    ("location", "Remote", None),
    ("department", "Services", "SVC"),
    ("department", "Administration", "ADM"),
    ("timezone", "Eastern", None),
    ("timezone", "Central", None),
    ("timezone", "Mountain", None),
    ("timezone", "Pacific", None),
    ("timezone", "GMT", None),
    ("board", "Help Desk", None),
]
LEVEL_RANK = {"None": 0, "My": 1, "All": 2}

ROLE = "securityRole"
API_MEMBER = "apiMember"
ROLE_NAME_MAX = ROLE_TYPE_MAX = 30
MEMBER_IDENTIFIER_MAX = 15
MEMBER_NAME_MAX = 30
EMAIL_MAX = 250
KEY_DESCRIPTION_MAX = 100
# API member reference fields: required by the UI form, defaulted from /default when omitted, optional
REQUIRED_REFS = ("securityRole", "structureLevel", "securityLocation", "defaultLocation", "defaultDepartment")
DEFAULTED_REFS = ("timeZone", "salesDefaultLocation")
MEMBER_FIELDS = (
    "identifier", "name", "emailAddress", "inactiveFlag", "inactiveDate", "timeZone", "securityRole",
    "structureLevel", "securityLocation", "defaultLocation", "defaultDepartment", "salesDefaultLocation",
    "serviceDefaultBoard", "notes", "excludedServiceBoardIds", "blockPriceFlag", "blockCostFlag",
)
READ_ONLY_FIELDS = ("id", "_info")


# ---- small helpers --------------------------------------------------------------------------

def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(d: dt.datetime) -> str:
    return d.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def hash_key(company_id: str, public: str, private: str) -> str:
    return hashlib.sha256(f"cwsim:{company_id.lower()}:{public}:{private}".encode()).hexdigest()


def random_key(n: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def split_function(text: str) -> tuple[str, str]:
    """"Module › Function" (or "Module > Function") -> (module, function)."""
    for sep in ("›", ">"):
        if sep in text:
            m, f = text.split(sep, 1)
            return m.strip(), f.strip()
    raise Invalid(f"function {text!r} must be 'Module › Function', e.g. 'System › Table Setup'")


class _Fields:
    """Collects ConnectWise-style field errors while reading a body."""

    def __init__(self, body: Mapping[str, Any], resource: str):
        self.body, self.resource = body, resource
        self.errors: list[FieldError] = []

    def error(self, code: str, message: str, name: str) -> None:
        self.errors.append(FieldError(code, message, name, self.resource))

    def boolean(self, name: str, default: Optional[bool] = None) -> Optional[bool]:
        v = self.body.get(name, default)
        if v is None or isinstance(v, bool):
            return v
        self.error("InvalidField", f"{name} must be true or false", name)
        return default

    def text(self, name: str, max_len: Optional[int] = None, required: bool = False) -> Optional[str]:
        v = self.body.get(name)
        if v is None or (isinstance(v, str) and not v.strip() and required):
            if required:
                self.error("NullValue", f"{name} may not be null or empty.", name)
            return None
        if not isinstance(v, str):
            self.error("InvalidField", f"{name} must be a string", name)
            return None
        if max_len is not None and len(v) > max_len:
            self.error("MaxLength", f"{name} may be at most {max_len} characters (got {len(v)}).", name)
        return v

    def raise_if_any(self, message: str) -> None:
        if self.errors:
            raise Invalid(message, self.errors)


@dataclass(frozen=True)
class AllowList:
    """A role's allow-list behind one function's Customize link."""

    key: str  # "Module › Function"
    info: Optional[FunctionInfo]  # None: the function is unknown to this tenant's catalog
    allow: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IssuedKey:
    """A new key pair; the private key exists only here (the store keeps a hash)."""

    key: ApiKey
    private_key: str

    def expiration(self) -> Optional[str]:
        return iso(self.key.expires) if self.key.expires else None


# ---- the backend ----------------------------------------------------------------------------

class Backend:
    """Every emulated company, in one SQLite file."""

    def __init__(self, path: str | Path, catalog: Optional[Catalog] = None):
        self.store = Store(path)
        self.path = self.store.path
        self.catalog = catalog or load_catalog()
        self.token_ttl = dt.timedelta(hours=1)
        self._catalogs: dict[str, TenantCatalog] = {}
        self._lock = threading.RLock()

    def close(self) -> None:
        self.store.close()

    # ---- companies ------------------------------------------------------------------------
    def companies(self) -> list[Company]:
        return self.store.companies()

    def company(self, company_id: str) -> Optional[Company]:
        return self.store.company(company_id)

    def create_company(self, company_id: str, name: Optional[str] = None, public_key: str = D.ADMIN_PUBLIC_KEY,
                       private_key: str = D.ADMIN_PRIVATE_KEY, client_id: str = D.CLIENT_ID,
                       catalog: Optional[CatalogExtras] = None) -> Company:
        """A tenant with its bootstrap Admin role, admin API member and key (and its own catalog extras)."""
        if not company_id or not company_id.replace("_", "").replace("-", "").isalnum():
            raise Invalid("companyId must be letters, digits, '-' or '_'")
        with self.store.tx():
            if self.store.company(company_id) is not None:
                raise Exists(f"company {company_id!r} already exists")
            self.store.insert_company(Company(company_id, name or company_id, client_id, public_key, private_key,
                                              iso(now())))
            self._set_extras(company_id, catalog)
            self.tenant(company_id).bootstrap()
        return self._company(company_id)

    def ensure_company(self, company_id: str, **kw: Any) -> tuple[Company, bool]:
        c = self.company(company_id)
        if c is not None:
            return c, False
        return self.create_company(company_id, **kw), True

    def reset_company(self, company_id: str) -> None:
        """Back to the bootstrap state; the company's own catalog extras stay."""
        with self.store.tx():
            self.store.wipe_company(company_id, keep_company=True)
            self.tenant(company_id).bootstrap()

    def delete_company(self, company_id: str) -> None:
        self.store.wipe_company(company_id, keep_company=False)
        self._forget_catalog(company_id)

    def tenant(self, company: Company | str) -> Tenant:
        """One company's state and rules (NotFound if there is no such company)."""
        if isinstance(company, str):
            company = self._company(company)
        return Tenant(self, company.company_id)

    def _company(self, company_id: str) -> Company:
        c = self.store.company(company_id)
        if c is None:
            raise NotFound(f"no company {company_id!r}; POST /_cwsim/companies creates one")
        return c

    # ---- per-company catalogs -------------------------------------------------------------
    def tenant_catalog(self, company_id: str) -> TenantCatalog:
        key = company_id.lower()
        with self._lock:
            cat = self._catalogs.get(key)
            if cat is None:
                raw = self.store.catalog_extras(company_id)
                extras = CatalogExtras.model_validate_json(raw) if raw else None
                cat = self._catalogs[key] = TenantCatalog(self.catalog, extras)
            return cat

    def _set_extras(self, company_id: str, extras: Optional[CatalogExtras]) -> TenantCatalog:
        cat = TenantCatalog(self.catalog, extras)
        self.store.set_catalog_extras(company_id, None if cat.extras.is_empty()
                                      else cat.extras.model_dump_json(by_alias=True, exclude_none=True))
        with self._lock:
            self._catalogs[company_id.lower()] = cat
        return cat

    def _forget_catalog(self, company_id: str) -> None:
        with self._lock:
            self._catalogs.pop(company_id.lower(), None)


class Tenant:
    """One company's state and rules."""

    def __init__(self, backend: Backend, company_id: str):
        self.backend = backend
        self.store = backend.store
        self.company_id = company_id

    @property
    def catalog(self) -> TenantCatalog:
        return self.backend.tenant_catalog(self.company_id)

    @property
    def company(self) -> Company:
        return self.backend._company(self.company_id)

    def bootstrap(self) -> None:
        """Reference records, the Admin role (every allow-list item) and the admin API member with its key."""
        cid, cat = self.company_id, self.catalog
        for kind, name, ident in BOOTSTRAP_REFS:
            self.store.insert_ref(cid, kind, name, ident)
        role = self._insert_role(ADMIN_ROLE, None, admin=True, inactive=False, by="cwsim")
        for info in cat.functions():
            items = cat.choices(info)
            if items:
                self.store.add_allowed_items(cid, role.id, info.module, info.function, items)
        defaults = self.member_defaults()
        admin = Member(id=0, identifier=D.ADMIN_IDENTIFIER, name=ADMIN_NAME,
                       notes="Bootstrap administrator created by cwsim", security_role=role.id,
                       refs={f: defaults.get(f) for f in REF_KINDS}, updated=iso(now()), updated_by="cwsim")
        mid = self.store.insert_member(cid, admin)
        company = self.company
        self._add_key(mid, company.bootstrap_public, company.bootstrap_private, "cwsim bootstrap key")

    # ---- catalog extras -------------------------------------------------------------------
    def add_catalog_extras(self, extras: CatalogExtras) -> CatalogExtras:
        """Add what the tenant has beyond the bundled catalog; existing roles get the new rows (None, or
        All for admin roles) and the bootstrap Admin role's allow-lists get the new items."""
        old = self.catalog
        combined = CatalogExtras(functions=[*old.extras.functions, *extras.functions],
                                 setup_tables=[*old.extras.setup_tables, *extras.setup_tables],
                                 custom_menu_entries=[*old.extras.custom_menu_entries, *extras.custom_menu_entries])
        with self.store.tx():
            new = self.backend._set_extras(self.company_id, combined)
            known = {(i.module, i.function) for i in old.functions()}
            added = [i for i in new.functions() if (i.module, i.function) not in known]
            at = iso(now())
            for role in self.roles():
                self.store.insert_settings(self.company_id, role.id,
                                           [(i.module, i.function, self._new_levels(i, role.admin), i.order)
                                            for i in added], at, "cwsim")
            admin = self._bootstrap_admin()
            if admin is not None:
                for info in new.functions():
                    before = set(old.choices(info) or []) if (info.module, info.function) in known else set()
                    fresh = [c for c in new.choices(info) or [] if c not in before]
                    self.store.add_allowed_items(self.company_id, admin.id, info.module, info.function, fresh)
        return new.extras

    def clear_catalog_extras(self) -> None:
        """Back to the bundled catalog: the extras' rows and allow-list items go."""
        old = self.catalog
        with self.store.tx():
            for x in old.extras.functions:
                self.store.delete_function(self.company_id, x.module, x.function)
            new = self.backend._set_extras(self.company_id, None)
            for info in new.functions():
                for item in set(old.choices(info) or []) - set(new.choices(info) or []):
                    self.store.delete_allowed_item_everywhere(self.company_id, info.module, info.function, item)

    def _bootstrap_admin(self) -> Optional[Role]:
        role = self.store.role_by_name(self.company_id, ADMIN_ROLE)
        return role if role is not None and role.admin else None

    # ---- roles ----------------------------------------------------------------------------
    def roles(self) -> list[Role]:
        return self.store.roles(self.company_id)

    def role(self, role_id: Any) -> Optional[Role]:
        return self.store.role(self.company_id, role_id)

    def role_by_name(self, name: str) -> Optional[Role]:
        return self.store.role_by_name(self.company_id, name)

    def find_role(self, ref: str) -> Optional[Role]:
        """A role by id (digits) or by name."""
        found = self.role(int(ref)) if ref.isdigit() else None
        return found or self.role_by_name(ref)

    def create_role(self, body: Mapping[str, Any], by: str) -> Role:
        """POST /system/securityroles: name required (≤30, unique case-insensitively, trimmed), roleType ≤30.
        The new role has one settings row per catalog function: None, or All on every applicable level
        when adminFlag is true."""
        fields = _Fields(body, ROLE)
        name = fields.text("name", max_len=ROLE_NAME_MAX, required=True)
        role_type = fields.text("roleType", max_len=ROLE_TYPE_MAX)
        admin = fields.boolean("adminFlag", False)
        inactive = fields.boolean("inactiveFlag", False)
        if name and not fields.errors and self.role_by_name(name.strip()):
            fields.error("ObjectExists", f"A security role named {name.strip()!r} already exists.", "name")
        fields.raise_if_any("securityRole object is invalid")
        assert name is not None
        return self._insert_role(name.strip(), role_type, bool(admin), bool(inactive), by)

    def _insert_role(self, name: str, role_type: Optional[str], admin: bool, inactive: bool, by: str) -> Role:
        at = iso(now())
        with self.store.tx():
            rid = self.store.insert_role(self.company_id, name, role_type, admin, inactive, at, by)
            self.store.insert_settings(self.company_id, rid,
                                       [(i.module, i.function, self._new_levels(i, admin), i.order)
                                        for i in self.catalog.functions()], at, by)
        role = self.role(rid)
        assert role is not None
        return role

    @staticmethod
    def _new_levels(info: FunctionInfo, admin: bool) -> dict[str, str]:
        return {n: ("All" if admin and n in info.levels else "None") for n in LEVEL_NAMES}

    def delete_role(self, role: Role) -> None:
        """Only active members block the delete: a deactivated API member keeps its stale reference
        (ConnectWise has no member DELETE, so retiring an integration is deactivate, then delete its role)."""
        users = [m for m in self.members_with_role(role.id) if not m.inactive]
        if users:
            names = ", ".join(m.identifier for m in users)
            msg = (f"Security role {role.name!r} is still assigned to {len(users)} member(s): {names}. "
                   "Assign them another role (PATCH /system/apiMembers/{id} securityRole) before deleting it.")
            raise Invalid(msg, [FieldError("ObjectInUse", msg, "id", ROLE)])
        self.store.delete_role(self.company_id, role.id)

    # ---- a role's grid --------------------------------------------------------------------
    def grid(self, role_id: Any) -> list[GridRow]:
        """The role's settings rows in the role editor's order, each with its function's facts."""
        cat = self.catalog
        rows = [GridRow(s, cat.info(s.module, s.function)) for s in self.store.settings(self.company_id, role_id)]
        rows.sort(key=lambda r: (r.info.order, r.setting.sort_order, r.setting.id))
        return rows

    def grid_row(self, role_id: int, setting_id: int) -> Optional[GridRow]:
        s = self.store.setting(self.company_id, role_id, setting_id)
        return GridRow(s, self.catalog.info(s.module, s.function)) if s else None

    def set_levels(self, role: Role, changes: Any, by: str = "console") -> None:
        """What the admin does in System › Security Roles: a partial grid update
        ``[{module, function, add?, edit?, delete?, inquire?}]``; everything is checked before anything changes."""
        if not isinstance(changes, list):
            raise Invalid('settings must be a list like [{"module": "System", "function": "Table Setup", '
                          '"inquire": "All"}]')
        problems: list[str] = []
        updates: list[tuple[FunctionInfo, dict[str, str]]] = []
        for i, item in enumerate(changes):
            if not isinstance(item, dict):
                problems.append(f"settings[{i}] must be an object")
                continue
            try:
                info = self.catalog.resolve(str(item.get("module", "")), str(item.get("function", "")))
            except CatalogError as e:
                problems.append(str(e))
                continue
            levels: dict[str, str] = {}
            for n in LEVEL_NAMES:
                if n not in item:
                    continue
                try:
                    lv = Level.parse(item[n]).value
                except ValueError as e:
                    problems.append(f"{info.key} › {n.title()}: {e}")
                    continue
                if lv != "None" and n not in info.levels:
                    problems.append(f"{info.key}: the {n.title()} level does not apply to this function")
                    continue
                levels[n] = lv
            unknown = set(item) - {"module", "function", *LEVEL_NAMES}
            if unknown:
                problems.append(f"{info.key}: unknown key(s) {', '.join(sorted(unknown))}; use add, edit, delete, inquire")
            if levels:
                updates.append((info, levels))
        if problems:
            raise Invalid("; ".join(problems))
        at = iso(now())
        with self.store.tx():
            for info, levels in updates:
                self.store.update_levels(self.company_id, role.id, info.module, info.function, levels, at, by)
            if updates:
                self.store.touch_role(self.company_id, role.id, at, by)

    def level(self, role_id: int, module: str, function: str, level: str) -> str:
        s = self.store.setting_of(self.company_id, role_id, module, function)
        return s.level(level) if s else "None"  # type: ignore[arg-type]

    # ---- Customize allow-lists ------------------------------------------------------------
    def allowed_items(self, role_id: Any) -> list[tuple[AllowedItem, FunctionInfo]]:
        cat = self.catalog
        return [(a, cat.info(a.module, a.function)) for a in self.store.allowed_items(self.company_id, role_id)]

    def allow_lists(self, role_id: int) -> dict[str, AllowList]:
        """Every Customize list of the tenant's catalog with what the role allows, plus stored lists the
        catalog does not know."""
        out = {i.key: AllowList(i.key, i) for i in self.catalog.functions() if i.customize_items is not None}
        for a, _info in self.allowed_items(role_id):
            key = f"{a.module} › {a.function}"
            out.setdefault(key, AllowList(key, None)).allow.append(a.item)
        return out

    def set_allow_list(self, role: Role, body: Any) -> tuple[str, list[str]]:
        """Replace one Customize allow-list: ``{"function": "System › Table Setup", "allow": [...]}``
        (or ``module`` + ``function``). Items are spelled as the catalog spells them; unknown ones refused."""
        if not isinstance(body, dict):
            raise Invalid('body must be {"function": "System › Table Setup", "allow": [...]}')
        if "module" in body:
            mod, fn = str(body.get("module")), str(body.get("function", ""))
        else:
            mod, fn = split_function(str(body.get("function", "")))
        try:
            info = self.catalog.resolve(mod, fn)
        except CatalogError as e:
            raise Invalid(str(e)) from None
        if info.customize_items is None:
            raise Invalid(f"{info.key} has no Customize list in ConnectWise")
        allow = body.get("allow", [])
        if not isinstance(allow, list) or not all(isinstance(x, str) for x in allow):
            raise Invalid("allow must be a list of item names")
        items: list[str] = []
        problems: list[str] = []
        for it in allow:
            try:
                canon = self.catalog.customize_item(info, it)
            except CatalogError as e:
                problems.append(str(e))
                continue
            if canon not in items:
                items.append(canon)
        if problems:
            raise Invalid(f"{info.key}: " + "; ".join(problems))
        self.store.replace_allowed_items(self.company_id, role.id, info.module, info.function, items)
        return info.key, items

    # ---- reference records ----------------------------------------------------------------
    def ref(self, ref_id: int) -> Optional[Ref]:
        return self.store.ref(self.company_id, ref_id)

    def member_defaults(self) -> dict[str, Optional[int]]:
        """What GET /system/apiMembers/default offers: the first record of each kind."""
        first = {k: (refs[0].id if (refs := self.store.refs(self.company_id, k)) else None)
                 for k in ("structure", "location", "department", "timezone")}
        return {
            "structureLevel": first["structure"],
            "securityLocation": first["location"],
            "defaultLocation": first["location"],
            "salesDefaultLocation": first["location"],
            "defaultDepartment": first["department"],
            "timeZone": first["timezone"],
            "serviceDefaultBoard": None,
        }

    def _resolve_ref(self, name: str, value: Any, fields: _Fields) -> Optional[int]:
        if value is None:
            return None
        if not isinstance(value, dict) or not any(k in value for k in ("id", "name", "identifier")):
            fields.error("InvalidField", f"{name} must be a reference object like {{\"id\": 1}} or "
                                         f"{{\"name\": \"...\"}}", name)
            return None
        rid, ref_name, ident = value.get("id"), value.get("name"), value.get("identifier")
        if rid is not None and (not isinstance(rid, int) or isinstance(rid, bool)):
            fields.error("InvalidField", f"{name}/id must be a whole number", name)
            return None
        if name == "securityRole":
            role = (self.role(rid) if rid is not None
                    else self.role_by_name(str(ref_name)) if ref_name is not None else None)
            if role is None:
                what = f"id {rid}" if rid is not None else f"name {ref_name!r}"
                fields.error("InvalidObject", f"securityRole: no security role with {what} exists. "
                                              "List roles with GET /system/securityroles.", name)
                return None
            return role.id
        kind = REF_KINDS[name]
        ref = self.store.find_ref(self.company_id, kind, id=rid, name=ref_name if rid is None else None,
                                  identifier=ident if rid is None and ref_name is None else None)
        if ref is None:
            what = (f"id {rid}" if rid is not None else f"name {ref_name!r}" if ref_name is not None
                    else f"identifier {ident!r}")
            fields.error("InvalidObject", f"{name}: no {kind} with {what} exists. "
                                          "GET /system/apiMembers/default shows valid values.", name)
            return None
        return ref.id

    # ---- API members ----------------------------------------------------------------------
    def members(self) -> list[Member]:
        return self.store.members(self.company_id)

    def member(self, member_id: Any) -> Optional[Member]:
        return self.store.member(self.company_id, member_id)

    def member_by_identifier(self, identifier: str) -> Optional[Member]:
        return self.store.member_by_identifier(self.company_id, identifier)

    def find_member(self, ref: str) -> Optional[Member]:
        """A member by id (digits) or by identifier."""
        found = self.member(int(ref)) if ref.isdigit() else None
        return found or self.member_by_identifier(ref)

    def members_with_role(self, role_id: int) -> list[Member]:
        return [m for m in self.members() if m.security_role == role_id]

    def _validated_member(self, body: Mapping[str, Any], existing: Optional[Member], by: str) -> Member:
        """The member a create (POST) or full replace (PUT) body describes; Invalid lists every problem."""
        fields = _Fields(body, API_MEMBER)
        identifier = fields.text("identifier", max_len=MEMBER_IDENTIFIER_MAX, required=True)
        name = fields.text("name", max_len=MEMBER_NAME_MAX, required=True)
        email = fields.text("emailAddress", max_len=EMAIL_MAX)
        notes = fields.text("notes")
        inactive = bool(fields.boolean("inactiveFlag", False))
        block_price = bool(fields.boolean("blockPriceFlag", False))
        block_cost = bool(fields.boolean("blockCostFlag", False))
        inactive_date = body.get("inactiveDate")
        if inactive_date is not None:
            try:
                dt.datetime.fromisoformat(str(inactive_date).replace("Z", "+00:00"))
            except ValueError:
                fields.error("InvalidField", "inactiveDate must be an ISO 8601 date-time", "inactiveDate")
        if inactive and not inactive_date:
            inactive_date = iso(now())
        boards = body.get("excludedServiceBoardIds") or []
        if not isinstance(boards, list) or not all(isinstance(b, int) and not isinstance(b, bool) for b in boards):
            fields.error("InvalidField", "excludedServiceBoardIds must be a list of board ids",
                         "excludedServiceBoardIds")
            boards = []
        defaults = self.member_defaults()
        refs: dict[str, Optional[int]] = {}
        for ref_field in (*REQUIRED_REFS, *DEFAULTED_REFS, "serviceDefaultBoard"):
            value = body.get(ref_field)
            if value is None:
                if ref_field in REQUIRED_REFS:
                    fields.error("NullValue", f"{ref_field} may not be null; the ConnectWise API member form "
                                              "requires it (GET /system/apiMembers/default gives tenant defaults).",
                                 ref_field)
                refs[ref_field] = defaults.get(ref_field) if ref_field in DEFAULTED_REFS else None
                continue
            refs[ref_field] = self._resolve_ref(ref_field, value, fields)
        if identifier and not fields.errors:
            clash = self.member_by_identifier(identifier.strip())
            if clash is not None and (existing is None or clash.id != existing.id):
                fields.error("ObjectExists", f"A member with identifier {identifier.strip()!r} already exists.",
                             "identifier")
        fields.raise_if_any("apiMember object is invalid")
        assert identifier is not None
        return Member(
            id=existing.id if existing else 0, identifier=identifier.strip(), name=name.strip() if name else name,
            email=email, notes=notes, inactive=inactive, inactive_date=inactive_date, block_price=block_price,
            block_cost=block_cost, excluded_boards=tuple(boards), security_role=refs.pop("securityRole"),
            refs={f: refs.get(f) for f in REF_KINDS}, updated=iso(now()), updated_by=by,
        )

    def create_member(self, body: Mapping[str, Any], by: str) -> Member:
        mid = self.store.insert_member(self.company_id, self._validated_member(body, None, by))
        created = self.member(mid)
        assert created is not None
        return created

    def replace_member(self, member: Member, body: Mapping[str, Any], by: str) -> Member:
        """PUT: a full replace; omitted optional fields become null/false."""
        self.store.update_member(self.company_id, self._validated_member(body, member, by))
        updated = self.member(member.id)
        assert updated is not None
        return updated

    def patch_member(self, member: Member, ops: Any, by: str) -> Member:
        """PATCH: ``[{op: add|replace|remove, path, value}]`` applied to the member, then validated like a PUT."""
        return self.replace_member(member, _apply_patch(member_fields(member), ops), by)

    def deactivate_member(self, member: Member, caller: Member) -> Member:
        if member.id == caller.id:
            raise Invalid(f"Member {member.identifier!r} cannot deactivate itself; call as another member.",
                          [FieldError("InvalidObject", "cannot deactivate the calling member", "id", "member")])
        if member.inactive:
            raise Invalid(f"Member {member.identifier!r} is already inactive.",
                          [FieldError("InvalidObject", "member is already inactive", "inactiveFlag", "member")])
        done = replace(member, inactive=True, inactive_date=iso(now()), updated=iso(now()),
                       updated_by=caller.identifier)
        self.store.update_member(self.company_id, done)
        return done

    # ---- keys, tokens and authentication --------------------------------------------------
    def keys(self, member: Member) -> list[ApiKey]:
        return self.store.keys(self.company_id, member.id)

    def _add_key(self, member_id: int, public: str, private: str, description: str, kind: str = "permanent",
                 expires: Optional[dt.datetime] = None) -> ApiKey:
        digest, created = hash_key(self.company_id, public, private), iso(now())
        kid = self.store.insert_key(self.company_id, member_id, public, digest, description, kind, expires, created)
        return ApiKey(kid, member_id, public, digest, description, kind, expires, created)

    def create_key(self, member: Member, description: str = "") -> IssuedKey:
        """A permanent key, as System › Members › API Members › API Keys makes (the private part is shown once)."""
        if not isinstance(description, str) or len(description) > KEY_DESCRIPTION_MAX:
            raise Invalid(f"description must be text of at most {KEY_DESCRIPTION_MAX} characters")
        private = random_key()
        return IssuedKey(self._add_key(member.id, random_key(), private, description or "API key"), private)

    def delete_key(self, member: Member, key_id: int) -> None:
        if not any(k.id == key_id for k in self.keys(member)):
            raise NotFound(f"API member {member.identifier!r} has no key {key_id}")
        self.store.delete_key(self.company_id, key_id)

    def issue_token(self, ref: str, caller: Member) -> IssuedKey:
        """POST /system/members/{memberIdentifier}/tokens: short-lived keys acting as that member."""
        member = self.member_by_identifier(ref)
        if member is None and ref.isdigit():
            member = self.member(int(ref))
        if member is None:
            raise NotFound(f"Member with identifier {ref!r} was not found")
        if member.inactive:
            raise Invalid(f"Member {member.identifier!r} is inactive; a token cannot be issued.",
                          [FieldError("InvalidObject", "member is inactive", "memberIdentifier", "token")])
        private = random_key()
        expires = dt.datetime.now(dt.timezone.utc) + self.backend.token_ttl
        key = self._add_key(member.id, random_key(), private, f"token issued to {caller.identifier}", "token",
                            expires)
        return IssuedKey(key, private)

    def authenticate(self, public: str, private: str) -> Optional[Member]:
        """The member a key pair belongs to, or None (wrong, expired or inactive)."""
        key = self.store.key_by_public(self.company_id, public)
        if key is None or not secrets.compare_digest(key.private_hash, hash_key(self.company_id, public, private)):
            return None
        if key.expired(dt.datetime.now(dt.timezone.utc)):
            return None
        member = self.member(key.member_id)
        if member is None or member.inactive:
            return None
        return member

    def check_permission(self, member: Member, need: Permission) -> None:
        """A role with adminFlag passes; otherwise the cell must be My or All (no ownership filtering)."""
        role = self.role(member.security_role) if member.security_role is not None else None
        if role is not None and role.admin:
            return
        have = self.level(role.id, need.module, need.function, need.level) if role is not None else "None"
        if LEVEL_RANK.get(have, 0) < 1:
            role_name = role.name if role is not None else "(none)"
            raise Denied(f"Member {member.identifier!r} (security role {role_name!r}) needs {need} at My or All "
                         f"(now {have}). Ask an administrator to grant it in System › Security Roles › {role_name}.")


# ---- API member fields and PATCH ------------------------------------------------------------

def member_fields(m: Member) -> dict[str, Any]:
    """The member as a PUT body (references as ``{"id": n}``)."""
    out: dict[str, Any] = {
        "identifier": m.identifier, "name": m.name, "emailAddress": m.email, "inactiveFlag": m.inactive,
        "inactiveDate": m.inactive_date, "notes": m.notes, "excludedServiceBoardIds": list(m.excluded_boards),
        "blockPriceFlag": m.block_price, "blockCostFlag": m.block_cost,
    }
    for f in ("securityRole", *REF_KINDS):
        rid = m.ref(f)
        out[f] = {"id": rid} if rid is not None else None
    return out


def _apply_patch(current: dict[str, Any], ops: Any) -> dict[str, Any]:
    if not isinstance(ops, list) or not ops:
        raise Invalid("PATCH body must be a non-empty JSON array of operations like "
                      '[{"op": "replace", "path": "name", "value": "New name"}]')
    body = dict(current)

    def bad(i: int, message: str, code: str, detail: str, name: str) -> Invalid:
        return Invalid(f"operation {i + 1}: {message}", [FieldError(code, detail, name, API_MEMBER)])

    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            raise Invalid(f"operation {i + 1} must be an object with op, path and value")
        kind = str(op.get("op", "")).lower()
        path = str(op.get("path", "")).strip().strip("/")
        if kind not in ("add", "replace", "remove"):
            raise bad(i, f"op {op.get('op')!r} is not supported; use add, replace or remove", "InvalidField",
                      "unsupported op", "op")
        if "value" not in op and kind != "remove":
            raise bad(i, f"value is required for {kind}", "NullValue", "value is required", "value")
        parts = path.split("/")
        top = next((f for f in (*MEMBER_FIELDS, *READ_ONLY_FIELDS) if f.lower() == parts[0].lower()), None)
        if top is None:
            raise bad(i, f"{path!r} is not a field of apiMember", "InvalidField", f"unknown field {path!r}", path)
        if top in READ_ONLY_FIELDS:
            raise bad(i, f"{top} is read-only", "InvalidField", f"{top} is read-only", top)
        value = None if kind == "remove" else op["value"]
        if len(parts) == 1:
            body[top] = value
        elif len(parts) == 2 and (top == "securityRole" or top in REF_KINDS):
            sub = parts[1].lower()
            if sub not in ("id", "name", "identifier"):
                raise bad(i, f"{path!r} is not a field of {top}", "InvalidField", f"unknown field {path!r}", path)
            body[top] = None if value is None else {sub: value}
        else:
            raise bad(i, f"{path!r} is not a field of apiMember", "InvalidField", f"unknown field {path!r}", path)
    return body


__all__ = ["Backend", "Tenant", "AllowList", "IssuedKey", "MEMBER_FIELDS", "member_fields", "split_function", "iso",
           "now"]
