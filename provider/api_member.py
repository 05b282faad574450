"""``ApiMember``: a ConnectWise API member (System › Members › API Members) and its security role.

Fully writable through ``/system/apiMembers``: create (POST), read, update (PATCH with only the
changed fields), and delete = deactivate (``POST /system/members/{id}/deactivate``; ConnectWise
has no DELETE for members). Creating an identifier that exists but is deactivated reactivates it.
Permanent API keys cannot be made through the API: create them in the UI.
On `pulumi up` the diff reads the member (see ``_common.BaseProvider``): a member changed or
deactivated in ConnectWise is patched back to the code.
"""

from __future__ import annotations

from typing import Any, Optional

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_snake

from cwroles.permissions import EMAIL_MAX, MEMBER_IDENTIFIER_MAX, MEMBER_NAME_MAX, member_identifier_problem

from ._client import Client
from ._common import (
    TENANT_KEY, BaseProvider, check_id, check_name, clean, guarded_settings, has_unknown,
    is_unknown,
)
from . import reads
from ._config import Settings, get_client
from ._errors import InvalidObject, NotFound, ObjectExists
from ._models import ApiMember as MemberModel
from .resources import ApiMember  # the resource as a program declares it (resources.py)

__all__ = ["ApiMember", "ApiMemberProvider", "ApiMemberArgs", "ApiMemberState", "patch_operations"]

IDENTIFIER_MAX = MEMBER_IDENTIFIER_MAX
NAME_MAX = MEMBER_NAME_MAX


# ---- schema: the inputs and the outputs (their names are part of every stack's state) -------------
def _api(name: str, ref: bool = False) -> Any:
    """A writable field: its name in ConnectWise's API, and whether it is a {"id": N} reference."""
    return Field(default=None, json_schema_extra={"api": name, "ref": ref})


class ApiMemberArgs(BaseModel):
    """Inputs. Optional references left unset mean "tenant default, not managed": never diffed or patched."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    identifier: str  # UI "Member ID"; a new identifier replaces the member
    name: Optional[str] = _api("name")
    role_id: Optional[int] = _api("securityRole", ref=True)
    email_address: Optional[str] = _api("emailAddress")
    notes: Optional[str] = _api("notes")
    time_zone_id: Optional[int] = _api("timeZone", ref=True)
    structure_level_id: Optional[int] = _api("structureLevel", ref=True)
    security_location_id: Optional[int] = _api("securityLocation", ref=True)
    default_location_id: Optional[int] = _api("defaultLocation", ref=True)
    default_department_id: Optional[int] = _api("defaultDepartment", ref=True)


class ApiMemberState(ApiMemberArgs):
    """Outputs: the member as ConnectWise holds it."""

    member_id: int
    inactive: bool = False
    tenant: Optional[dict[str, Any]] = None  # the tenant the member lives in: {site, company_id}

    @classmethod
    def from_api(cls, m: MemberModel, tenant: Optional[dict[str, Any]] = None) -> "ApiMemberState":
        values: dict[str, Any] = {"member_id": m.id, "identifier": m.identifier, "inactive": bool(m.inactive_flag),
                                  "tenant": tenant}
        for key, (api, is_ref) in FIELDS.items():
            v = getattr(m, to_snake(api))
            values[key] = (v.id if v is not None else None) if is_ref else v
        return cls(**values)

    def outputs(self) -> dict[str, Any]:
        return {TENANT_KEY: self.tenant, "member_id": self.member_id, "identifier": self.identifier,
                **{k: getattr(self, k) for k in FIELDS}, "inactive": self.inactive}

    def inputs(self) -> dict[str, Any]:
        """What an import declares: the live member as the code."""
        return {"identifier": self.identifier, **{k: getattr(self, k) for k in FIELDS}}


# input name → (API field, is a {"id": N} reference), from the schema above
FIELDS: dict[str, tuple[str, bool]] = {
    k: (f.json_schema_extra["api"], f.json_schema_extra["ref"])  # type: ignore[index,misc]
    for k, f in ApiMemberArgs.model_fields.items() if f.json_schema_extra
}
_REFS = [k for k, (_api_name, is_ref) in FIELDS.items() if is_ref]
_OPTIONAL = {k for k in FIELDS if k not in ("name", "role_id")}
_DEFAULT_SKIP = {"id", "_info", "identifier", "name", "inactiveFlag", "inactiveDate", "securityRole", "emailAddress", "notes"}


def _outs(m: MemberModel, tenant: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    return ApiMemberState.from_api(m, tenant).outputs()


def _value(key: str, v: Any) -> Any:
    api, is_ref = FIELDS[key]
    return {"id": int(v)} if is_ref else v


def _same(key: str, new: Any, old: Any) -> bool:
    if FIELDS[key][1] and new is not None and old is not None:
        return int(new) == int(old)
    return new == old


def patch_operations(olds: dict[str, Any], news: dict[str, Any], reactivate: bool = False) -> list[dict[str, Any]]:
    """PATCH operations for exactly the fields that changed (unset optional inputs are left alone)."""
    ops: list[dict[str, Any]] = []
    if reactivate:
        ops.append({"op": "replace", "path": "inactiveFlag", "value": False})
    for key, (api, _ref) in FIELDS.items():
        new = news.get(key)
        if new is None and key in _OPTIONAL:
            continue
        if not _same(key, new, olds.get(key)):
            ops.append({"op": "replace", "path": api, "value": _value(key, new)})
    return ops


class ApiMemberProvider(BaseProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        ident = news.get("identifier")
        if not is_unknown(ident):
            problem = member_identifier_problem(ident, "identifier (UI \u201cMember ID\u201d)")
            if problem:
                failures.append(CheckFailure("identifier", "; ".join(problem)))
        check_name(news, "name", "name (UI \u201cMember Name\u201d)", NAME_MAX, failures)
        check_name(news, "email_address", "email_address", EMAIL_MAX, failures, required=False)
        check_id(news, "role_id", "role_id (the SecurityRole's role_id)", failures, required=True)
        for k in _REFS:
            if k != "role_id":
                check_id(news, k, k, failures)
        inputs = dict(news)
        if not failures:
            for k, (_api, is_ref) in FIELDS.items():
                if is_ref and inputs.get(k) is not None and not is_unknown(inputs[k]):
                    inputs[k] = int(inputs[k])
        self.check_settings(olds)
        return CheckResult(inputs, failures)

    def _body(self, client: Client, props: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if any(props.get(k) is None for k in _OPTIONAL if FIELDS[k][1]):
            defaults = client.api_member_defaults()  # tenant template for the references left unset
            body.update({k: v for k, v in defaults.items() if k not in _DEFAULT_SKIP and v is not None})
        body["identifier"] = props["identifier"]
        for key, (api, _ref) in FIELDS.items():
            if props.get(key) is not None:
                body[api] = _value(key, props[key])
        return body

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self.client()
        props = clean(props)
        try:
            member = client.create_api_member(self._body(client, props))
        except ObjectExists as e:
            member = self._reactivate_or_explain(client, props, e)
        return CreateResult(str(member.id), _outs(member, self.tenant_record()))

    def _reactivate_or_explain(self, client: Client, props: dict[str, Any], e: ObjectExists) -> MemberModel:
        ident = props["identifier"]
        existing = client.find_api_member(ident)
        if existing is None:
            raise ObjectExists(
                f"the identifier {ident!r} is already used by a ConnectWise member that is not an API member.",
                method=e.method, path=e.path, status=e.status, code=e.code, cw_message=e.cw_message, errors=e.errors,
                hint="choose another identifier (member identifiers are unique across all members).",
            ) from None
        if not existing.inactive_flag and not props.get("adopt_existing"):
            raise ObjectExists(
                f"an active API member {ident!r} already exists in ConnectWise (id {existing.id}).",
                method=e.method, path=e.path, status=e.status, code=e.code, cw_message=e.cw_message, errors=e.errors,
                hint=f"adopt it: stack config `cwroles:adopt: true` (the stack program), adopt_existing=True, or "
                f"opts=ResourceOptions(import_=\"{existing.id}\"); or choose another identifier.",
            ) from None
        # Adopted (adopt_existing) or deactivated: take it over with the code's fields (one PATCH, if any differ).
        ops = patch_operations(_outs(existing), props, reactivate=bool(existing.inactive_flag))
        if not ops:
            return existing
        return client.patch_api_member(int(existing.id), ops)  # type: ignore[arg-type]

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        settings = guarded_settings(props)
        return self.read_fetched(id_, props, settings, reads.fetch("api_member", get_client(settings), id_, props))

    def read_fetched(self, id_: str, props: dict[str, Any], settings: Settings, record: Any) -> ReadResult:
        """The read, from what ConnectWise answered (``reads.fetch``; None: the member is gone)."""
        if record is None:
            return ReadResult("", {})
        member = MemberModel.model_validate(record)
        state = ApiMemberState.from_api(member, settings.tenant.record())
        imported = not reads.is_refresh("api_member", clean(props))
        return ReadResult(str(member.id), self.noted_read(state.outputs()), state.inputs() if imported else None)

    @staticmethod
    def _changed(base: dict[str, Any], news: dict[str, Any]) -> list[str]:
        changed = []
        for key in FIELDS:
            new = news.get(key)
            if has_unknown(new):
                changed.append(key)
            elif new is None and key in _OPTIONAL:
                continue
            elif not _same(key, new, base.get(key)):
                changed.append(key)
        if base.get("inactive"):
            changed.append("inactive")  # deactivated outside Pulumi: reactivate
        return changed

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        settings = guarded_settings(olds)  # a changed tenant stops here, before any request
        verify = self.should_verify(olds)
        ident = news.get("identifier")
        if is_unknown(ident) or ident != olds.get("identifier"):
            return DiffResult(changes=True, replaces=["identifier"])
        changed = self._changed(olds, news)
        if changed or not verify:
            return DiffResult(changes=bool(changed), replaces=[])
        # `pulumi up`: compare the code with the member as ConnectWise has it now.
        try:
            live = _outs(get_client(settings).get_api_member(int(id_)), settings.tenant.record())
        except NotFound:
            return DiffResult(changes=True, replaces=["identifier"])  # gone: create it again
        stale = any(live.get(k) != olds.get(k) for k in live)  # outputs must agree with ConnectWise
        return DiffResult(changes=bool(self._changed(live, news)) or stale, replaces=[])

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = clean(news)
        settings = guarded_settings(olds)
        client = get_client(settings)
        base = olds
        if self.verify_live:  # patch from what ConnectWise has now, not from the last recorded state
            base = _outs(client.get_api_member(int(id_)), settings.tenant.record())
        ops = patch_operations(base, news, reactivate=bool(base.get("inactive")))
        member = client.patch_api_member(int(id_), ops) if ops else client.get_api_member(int(id_))
        return UpdateResult(_outs(member, settings.tenant.record()))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client = self.client(props)
        try:
            client.deactivate_member(int(id_))
        except NotFound:
            return  # already gone
        except InvalidObject:
            # Deactivating an already inactive member may be refused; that is the state we want.
            if not client.get_api_member(int(id_)).inactive_flag:
                raise
