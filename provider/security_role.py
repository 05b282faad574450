"""``SecurityRole``: a System › Security Roles entry (its name is the UI "Role ID").

The API can create, read and delete a role but not update it, so any change is a replacement.
Its permission grid is managed by ``RolePermissions`` (see docs/provider.md for why).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource

from ._common import BaseProvider, check_name, clean, is_unknown
from ._errors import NotFound, ObjectExists
from ._models import SecurityRole as RoleModel

__all__ = ["SecurityRole", "SecurityRoleProvider"]

ROLE_NAME_MAX = 30
_FIELDS = ("name", "role_type", "admin_flag")


def _outs(role: RoleModel) -> dict[str, Any]:
    return {
        "role_id": role.id,
        "name": role.name,
        "role_type": role.role_type or None,
        "admin_flag": bool(role.admin_flag),
    }


class SecurityRoleProvider(BaseProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list = []
        check_name(news, "name", "security role name (UI \u201cRole ID\u201d)", ROLE_NAME_MAX, failures)
        check_name(news, "role_type", "role_type", 30, failures, required=False)
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
        outs = _outs(role)
        # Inputs mirror the live role so an import (or a refresh) compares like with like.
        inputs = {k: outs[k] for k in _FIELDS}
        return ReadResult(str(role.id), outs, inputs if not clean(props).get("name") else None)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = []
        for k in _FIELDS:
            new = news.get(k)
            old = olds.get(k)
            if k == "admin_flag":
                new, old = (new if is_unknown(new) else bool(new)), bool(old)
            if k == "role_type":
                new, old = (new or None), (old or None)
            if is_unknown(new) or new != old:
                replaces.append(k)
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
        super().__init__(
            SecurityRoleProvider(),
            resource_name,
            {"name": name, "role_type": role_type, "admin_flag": admin_flag, "role_id": None,
             "adopt_existing": adopt_existing},
            opts,
        )
