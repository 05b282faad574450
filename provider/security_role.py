"""``SecurityRole``: a System › Security Roles entry (its name is the UI "Role ID").

The API can create, read and delete a role but not update it, so any change is a replacement.
Its permission grid is managed by ``RolePermissions`` (see docs/provider.md for why).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource
from pydantic import BaseModel, ConfigDict

from cwroles.permissions import ROLE_NAME_MAX, ROLE_TYPE_MAX

from ._common import BaseProvider, check_name, clean, is_unknown
from ._errors import NotFound, ObjectExists
from ._models import SecurityRole as RoleModel

__all__ = ["SecurityRole", "SecurityRoleProvider", "SecurityRoleArgs", "SecurityRoleState"]


# ---- schema: the inputs and the outputs (their names are part of every stack's state) -------------
class SecurityRoleArgs(BaseModel):
    """Inputs. A role cannot be updated through the API, so every one of them replaces it."""

    model_config = ConfigDict(extra="ignore")
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
    """Outputs: the inputs as ConnectWise holds them, plus the role's id."""

    role_id: int

    @classmethod
    def from_api(cls, role: RoleModel) -> "SecurityRoleState":
        return cls(role_id=role.id, name=role.name, role_type=role.role_type or None,
                   admin_flag=bool(role.admin_flag))

    def outputs(self) -> dict[str, Any]:
        return {"role_id": self.role_id, **SecurityRoleArgs.model_validate(self.model_dump()).model_dump()}

    def inputs(self) -> dict[str, Any]:
        """What an import declares: the live role as the code."""
        return SecurityRoleArgs.model_validate(self.model_dump()).model_dump()


_FIELDS = tuple(SecurityRoleArgs.model_fields)


def _outs(role: RoleModel) -> dict[str, Any]:
    return SecurityRoleState.from_api(role).outputs()


class SecurityRoleProvider(BaseProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list = []
        check_name(news, "name", "security role name (UI \u201cRole ID\u201d)", ROLE_NAME_MAX, failures)
        check_name(news, "role_type", "role_type", ROLE_TYPE_MAX, failures, required=False)
        af = news.get("admin_flag")
        if af is not None and not is_unknown(af) and not isinstance(af, bool):
            failures.append(CheckFailure("admin_flag", f"admin_flag must be true or false, got {af!r}"))
        inputs = dict(news)
        if inputs.get("admin_flag") is None:
            inputs["admin_flag"] = False
        return CheckResult(inputs, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        name = props["name"]
        c = self.client()
        try:
            role = c.create_security_role(name, props.get("role_type"), bool(props.get("admin_flag")))
        except ObjectExists as e:
            existing = c.find_security_role(name)
            if existing is None:
                raise
            if props.get("adopt_existing"):
                # Explicit opt-in adoption (works on SDKs whose import_ path cannot load the provider).
                return CreateResult(str(existing.id), _outs(existing))
            raise ObjectExists(
                f"a security role named {name!r} already exists in ConnectWise (id {existing.id}).",
                method=e.method, path=e.path, status=e.status, code=e.code, cw_message=e.cw_message, errors=e.errors,
                hint=f"adopt it with opts=ResourceOptions(import_=\"{existing.id}\") or adopt_existing=True, "
                "or choose another name.",
            ) from None
        return CreateResult(str(role.id), _outs(role))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            role = self.client().get_security_role(int(id_))
        except NotFound:
            return ReadResult("", {})  # deleted outside Pulumi: refresh drops it, the next up recreates it
        state = SecurityRoleState.from_api(role)
        # Inputs mirror the live role so an import (or a refresh) compares like with like.
        return ReadResult(str(role.id), state.outputs(), state.inputs() if not clean(props).get("name") else None)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = SecurityRoleArgs.diffable(olds), SecurityRoleArgs.diffable(news)
        replaces = [k for k in _FIELDS if is_unknown(new[k]) or new[k] != old[k]]
        if not replaces:
            return DiffResult(changes=False, replaces=[])
        # Same name: the old role must go first (names are unique). New name: create first.
        same_name = "name" not in replaces
        return DiffResult(changes=True, replaces=replaces, delete_before_replace=same_name)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        try:
            self.client().delete_security_role(int(id_))
        except NotFound:
            pass  # already gone


class SecurityRole(Resource, module="connectwise", name="SecurityRole"):
    """A ConnectWise security role. ``name`` is the UI "Role ID" (max 30 characters).

    Outputs: ``role_id`` (int), ``name``, ``admin_flag``, ``role_type``.
    Adopt an existing role with ``opts=ResourceOptions(import_="<role id>")`` or, where the Pulumi
    SDK's import path cannot load a dynamic provider (3.259), with ``adopt_existing=True``: the
    create then takes over a role of the same name instead of failing.
    """

    role_id: pulumi.Output[int]
    name: pulumi.Output[str]
    role_type: pulumi.Output[Optional[str]]
    admin_flag: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        name: pulumi.Input[str],
        role_type: Optional[pulumi.Input[str]] = None,
        admin_flag: pulumi.Input[bool] = False,
        opts: Optional[pulumi.ResourceOptions] = None,
        adopt_existing: bool = False,
    ) -> None:
        inputs = {k: v for k, v in locals().items() if k in SecurityRoleArgs.model_fields}
        outputs = {k: None for k in SecurityRoleState.model_fields if k not in SecurityRoleArgs.model_fields}
        super().__init__(SecurityRoleProvider(), resource_name,
                         {**inputs, **outputs, "adopt_existing": adopt_existing}, opts)
