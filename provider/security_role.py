"""``SecurityRole``: a System › Security Roles entry (its name is the UI "Role ID").

The API can create, read and delete a role but not update it, so any change is a replacement.
Its permission grid is managed by ``RolePermissions`` (see docs/provider.md for why).
On `pulumi up` the diff reads the role (see ``_common.BaseProvider``): a role deleted in ConnectWise is
created again, a role renamed or changed there stops the run with what to do.
"""

from __future__ import annotations

from typing import Any, Optional

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict

from cwroles.permissions import ROLE_NAME_MAX, ROLE_TYPE_MAX

from ._common import (
    TENANT_KEY, BaseProvider, check_name, clean, guarded_settings, is_unknown,
)
from . import reads
from ._config import Settings, get_client
from ._errors import ConfigurationError, NotFound, ObjectExists
from ._models import SecurityRole as RoleModel
from .resources import SecurityRole  # the resource as a program declares it (resources.py)

__all__ = ["SecurityRole", "SecurityRoleProvider", "SecurityRoleArgs", "SecurityRoleState"]


# ---- schema: the inputs and the outputs (their names are part of every stack's state) -------------
class SecurityRoleArgs(BaseModel):
    """Inputs. A role cannot be updated through the API, so every one of them replaces it."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    name: str
    role_type: Optional[str] = None
    admin_flag: bool = False

    @classmethod
    def diffable(cls, props: dict[str, Any]) -> dict[str, Any]:
        """The inputs as compared by diff: an unset role_type is None, admin_flag a bool (unknowns kept)."""
        out = {}
        for k in cls.model_fields:
            v = props.get(k)
            if not is_unknown(v):
                v = bool(v) if k == "admin_flag" else (v or None)
            out[k] = v
        return out


class SecurityRoleState(SecurityRoleArgs):
    """Outputs: the inputs as ConnectWise holds them, the role's id, the tenant it lives in and the stack
    (which names the stack's checklist folder, removed on delete)."""

    role_id: int
    tenant: Optional[dict[str, Any]] = None
    stack: Optional[str] = None

    @classmethod
    def from_api(cls, role: RoleModel, tenant: Optional[dict[str, Any]] = None, stack: Any = None) -> "SecurityRoleState":
        if role.id is None:
            raise ValueError(f"ConnectWise returned security role {role.name!r} without an id")
        return cls(role_id=role.id, name=role.name, role_type=role.role_type or None,
                   admin_flag=bool(role.admin_flag), tenant=tenant, stack=stack)

    def outputs(self) -> dict[str, Any]:
        return {"role_id": self.role_id, **self.inputs(), TENANT_KEY: self.tenant, "stack": self.stack}

    def inputs(self) -> dict[str, Any]:
        """What an import declares: the live role as the code."""
        return SecurityRoleArgs.model_validate(self.model_dump()).model_dump()


_FIELDS = tuple(SecurityRoleArgs.model_fields)


def _outs(role: RoleModel, tenant: dict[str, Any], stack: Any) -> dict[str, Any]:
    return SecurityRoleState.from_api(role, tenant, stack).outputs()


def _same(k: str, new: Any, old: Any) -> bool:
    if k == "admin_flag":
        return bool(new) == bool(old)
    if k == "role_type":
        return (new or None) == (old or None)
    if k == "name":
        return str(new or "").strip().lower() == str(old or "").strip().lower()
    return new == old


class SecurityRoleProvider(BaseProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list = []
        check_name(news, "name", "security role name (UI \u201cRole ID\u201d)", ROLE_NAME_MAX, failures)
        check_name(news, "role_type", "role_type", ROLE_TYPE_MAX, failures, required=False)
        af = news.get("admin_flag")
        if af is not None and not is_unknown(af) and not isinstance(af, bool):
            failures.append(CheckFailure("admin_flag", f"admin_flag must be true or false, got {af!r}"))
        inputs = dict(news)
        if inputs.get("admin_flag") is None:
            inputs["admin_flag"] = False
        self.check_settings(olds)
        return CheckResult(inputs, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        name = props["name"]
        c = self.client()
        tenant = self.tenant_record()
        try:
            role = c.create_security_role(name, props.get("role_type"), bool(props.get("admin_flag")))
        except ObjectExists as e:
            existing = c.find_security_role(name)
            if existing is None:
                raise
            if props.get("adopt_existing"):
                # Explicit opt-in adoption (works on SDKs whose import_ path cannot load the provider).
                return CreateResult(str(existing.id), _outs(existing, tenant, props.get("stack")))
            raise ObjectExists(
                f"a security role named {name!r} already exists in ConnectWise (id {existing.id}).",
                method=e.method, path=e.path, status=e.status, code=e.code, cw_message=e.cw_message, errors=e.errors,
                hint=f"adopt it: stack config `cwroles:adopt: true` (the stack program; `cwroles export --role "
                f"{existing.id}` writes the stack file), adopt_existing=True, or "
                f"opts=ResourceOptions(import_=\"{existing.id}\"); or choose another name.",
            ) from None
        return CreateResult(str(role.id), _outs(role, tenant, props.get("stack")))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        settings = guarded_settings(props)
        return self.read_fetched(id_, props, settings, reads.fetch("security_role", get_client(settings), id_, props))

    def read_fetched(self, id_: str, props: dict[str, Any], settings: Settings, record: Any) -> ReadResult:
        """The read, from what ConnectWise answered (``reads.fetch``; None: the role is gone)."""
        if record is None:
            return ReadResult("", {})  # deleted outside Pulumi: refresh drops it, the next up recreates it
        role = RoleModel.model_validate(record)
        state = SecurityRoleState.from_api(role, settings.tenant.record(), props.get("stack"))
        # Inputs mirror the live role so an import (or a refresh) compares like with like.
        inputs = None if reads.is_refresh("security_role", clean(props)) else state.inputs()
        return ReadResult(str(role.id), self.noted_read(state.outputs()), inputs)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        settings = guarded_settings(olds)  # a changed tenant stops here, before any request
        verify = self.should_verify(olds)
        old, new = SecurityRoleArgs.diffable(olds), SecurityRoleArgs.diffable(news)
        replaces = [k for k in _FIELDS if is_unknown(new[k]) or new[k] != old[k]]
        if replaces:
            # Same name: the old role must go first (names are unique). New name: create first.
            same_name = "name" not in replaces
            return DiffResult(changes=True, replaces=replaces, delete_before_replace=same_name)
        if not verify:
            return DiffResult(changes=False, replaces=[])
        # `pulumi up`: does the role still exist in ConnectWise, as the code says?
        try:
            role = get_client(settings).get_security_role(int(id_))
        except NotFound:
            return DiffResult(changes=True, replaces=["name"], delete_before_replace=True)  # deleted by hand: recreate
        changed = [k for k in _FIELDS if not _same(k, getattr(role, k, None), news.get(k))]
        if changed:
            live = {k: getattr(role, k, None) for k in changed}
            raise ConfigurationError(
                f"security role id {id_} was changed in ConnectWise: "
                + ", ".join(f"{k} is {live[k]!r}, the code says {news.get(k)!r}" for k in changed) + ".",
                hint="change it back in System › Security Roles, or adopt ConnectWise's value in the code and run "
                "`pulumi refresh` before `pulumi up` (the API cannot update a role, so a difference would replace it "
                "and lose its hand-set permissions).",
            )
        outs = _outs(role, settings.tenant.record(), news.get("stack"))
        return DiffResult(changes=any(outs.get(k) != olds.get(k) for k in outs), replaces=[])

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Reached only when ConnectWise matches the code but the recorded outputs are stale (e.g. state
        # written before the tenant was recorded): record what ConnectWise has. The API has no update.
        settings = self.settings()
        role = get_client(settings).get_security_role(int(id_))
        return UpdateResult(_outs(role, settings.tenant.record(), news.get("stack")))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        settings = guarded_settings(props)
        try:
            get_client(settings).delete_security_role(int(id_))
        except NotFound:
            pass  # already gone
        # A checklist for this role (e.g. from a first `up` that failed before its RolePermissions was
        # recorded) would only mislead now.
        from .role_permissions import remove_checklist

        if props.get("stack") and props.get("name"):
            remove_checklist(None, str(props["stack"]), settings.tenant.company_id, str(props["name"]))
