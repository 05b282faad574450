"""The three resources as a Pulumi program declares them: ``SecurityRole``, ``ApiMember``, ``RolePermissions``.

This module imports Pulumi and nothing else of cwroles, because the program imports it on every operation.
Each resource hands the engine a ``DeferredProvider``, pickled by reference (this module, the resource
kind, the verify flag); in the provider process its first call imports the provider that does the work
(``security_role``, ``api_member`` or ``role_permissions``, where the resources' schemas live). The input
and output names below are those schemas' field names (a test checks that they agree).

A check that passed, a diff that makes no request, and a refresh's read that found nothing changed are
remembered (``cwroles.cache``, folder ``checks``) under a key of everything they depend on: the resource
kind, the old and new inputs (for a read: the state, ConnectWise's answer and the day), the tenant the
provider is configured for, and the installed code and data. The next operation with the same key answers
without loading the provider. Only verdicts are written (a check that passed its inputs unchanged but for
what it computes, a diff's changes, "unchanged"), never an input value, and never a diff that reads
ConnectWise (`pulumi up`).
"""

from __future__ import annotations

import gc
import importlib
import sys
import threading
from pathlib import Path
from typing import Any, Optional

import pulumi
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic import Resource as DynamicResource

__all__ = ["SecurityRole", "ApiMember", "RolePermissions", "DeferredProvider", "check_program_config", "verify_now"]

PRIVATE_KEY_CONFIG = "connectwise:privateKey"

# kind -> (module, provider class): the provider that serves a resource kind
PROVIDERS: dict[str, tuple[str, str]] = {
    "security_role": (".security_role", "SecurityRoleProvider"),
    "api_member": (".api_member", "ApiMemberProvider"),
    "role_permissions": (".role_permissions", "RolePermissionsProvider"),
}
# The outputs each resource declares (State fields that are not Args fields), and ApiMember's inputs.
SECURITY_ROLE_OUTPUTS = ("role_id", "tenant", "stack")
API_MEMBER_INPUTS = ("identifier", "name", "role_id", "email_address", "notes", "time_zone_id", "structure_level_id",
                     "security_location_id", "default_location_id", "default_department_id")
API_MEMBER_OUTPUTS = ("member_id", "inactive", "tenant")
ROLE_PERMISSIONS_OUTPUTS = ("live", "pending", "drift", "customize_status", "tenant")


def verify_now(verify_live: bool) -> bool:
    """Whether the provider of a resource declared now (in the program) reads ConnectWise in ``diff``:
    on a deployment (`pulumi up`), never on a preview. See ``_common.BaseProvider``."""
    return bool(verify_live) and not pulumi.runtime.is_dry_run()


def check_program_config() -> None:
    """Refuse settings that would put a credential into state in plain text (called by each resource
    class when the program declares it, so it holds in any program using these resources)."""
    from pulumi.runtime import config as runtime_config

    value = runtime_config.get_config(PRIVATE_KEY_CONFIG)
    if value not in (None, "") and not runtime_config.is_config_secret(PRIVATE_KEY_CONFIG):
        stack = pulumi.get_stack()
        raise pulumi.RunError(
            f"{PRIVATE_KEY_CONFIG} is stored in plain text in Pulumi.{stack}.yaml, and Pulumi would copy it "
            "into the stack's state unencrypted. Store it encrypted (this replaces the plain value):\n"
            f"    pulumi config set --secret {PRIVATE_KEY_CONFIG} <private key> -s {stack}\n"
            "or unset it (`pulumi config rm ...`) and export CONNECTWISE_PRIVATE_KEY instead. If the file was "
            "committed, create a new key for the API member in ConnectWise and revoke this one."
        )


CHECKS_FOLDER = "checks"
CHECKS_MAX_AGE_DAYS = 30
_FORMAT = 1
_code: list[str] = []  # the installed code's stamp, read once per process


def _code_stamp() -> str:
    if not _code:
        import cwroles

        from cwroles import cache

        from . import __path__ as provider_path

        _code.append(cache.code_stamp(Path(p) for p in (*cwroles.__path__, *provider_path)))
    return _code[0]


def _tenant_fingerprint() -> Any:
    """What the providers' tenant guard sees: the configured tenant and settings (never the keys), or that
    there are no usable settings (a verdict never depends on why: the guard then stops diff and read)."""
    from . import _config

    try:
        s = _config.current_settings()
    except Exception:  # incomplete or unreadable: the provider says which when it is asked
        return None
    return [s.site, s.company_id, s.client_id, s.codebase, s.api_version, s.emulator]


def _entry(call: str, *parts: Any) -> Optional[Path]:
    """The file of the verdict of ``call`` on ``parts``, under a key of everything it depends on (None: the
    cache is off)."""
    from cwroles import cache

    folder = cache.cache_dir()
    if folder is None:
        return None
    key = cache.digest([_FORMAT, _code_stamp(), sys.version, _tenant_fingerprint(), call, *parts])
    return folder / CHECKS_FOLDER / f"{key}.json"


# What a check adds to the inputs it passes (RolePermissions: the cells widened since the last update). A
# check that changed anything else is not remembered (the verdict would have to hold an input value).
CHECK_COMPUTED = ("widening",)
# A read is remembered only as "unchanged": it returned exactly the outputs in state, so the next read with the
# same key (the same state, the same answer from ConnectWise, the same day) returns them again.
READ_UNCHANGED = "unchanged"
_DIFF_FIELDS = ("changes", "replaces", "stables", "delete_before_replace")


def _today() -> str:
    """The day. Nothing a read computes depends on it now; it is part of a read's key so that a read that
    did (a waiver's end date) could never be answered from another day."""
    import datetime as dt

    return dt.date.today().isoformat()


def _verdict(path: Optional[Path], call: str) -> Any:
    from cwroles import cache

    data = cache.read_json(path)
    return data.get(call) if isinstance(data, dict) else None


def _remember(path: Optional[Path], verdict: dict[str, Any]) -> None:
    from cwroles import cache

    if path is not None and cache.write_json(path, verdict):
        cache.prune(path.parent, CHECKS_MAX_AGE_DAYS)


_loading = threading.Lock()  # one provider load at a time (the engine calls in parallel threads)


def _provider_class(kind: str) -> type:
    """Import the provider of ``kind``. What it loads (the catalog, the schemas) lives as long as the process,
    so the cyclic garbage collector is kept from walking it: off while it loads (each full collection walks
    the whole heap, ~15 ms in the provider process) and frozen afterwards, so that later ones skip it. The
    engine's first calls arrive together (a refresh reads every resource at once): they load one after the
    other under one lock, so that no thread turns the collector back on while another still imports."""
    module, name = PROVIDERS[kind]
    with _loading:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return getattr(importlib.import_module(module, __package__), name)
        finally:
            gc.freeze()
            if enabled:
                gc.enable()


class DeferredProvider(ResourceProvider):
    """The provider of one resource kind, loaded on its first call (in the provider process).

    The pickle holds only this class's module path, ``kind`` and ``verify_live``: nothing secret.
    """

    serialize_as_secret_always = False

    def __init__(self, kind: str, verify_live: bool = False) -> None:
        super().__init__()
        if kind not in PROVIDERS:
            raise ValueError(f"unknown resource kind {kind!r}")
        self.kind = kind
        self.verify_live = bool(verify_live)

    def __getstate__(self) -> dict[str, Any]:
        return {"kind": self.kind, "verify_live": self.verify_live}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def provider(self) -> Any:
        """The provider that does the work (its module is imported here, once)."""
        loaded = self.__dict__.get("_provider")
        if loaded is None:
            loaded = self.__dict__["_provider"] = _provider_class(self.kind)(verify_live=self.verify_live)
        return loaded

    def configure(self, req: Any) -> None:
        from . import _config

        _config.configure(req.config.get)  # what every provider's configure does (_common.BaseProvider)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        from pulumi.dynamic import CheckResult

        entry = _entry("check", self.kind, olds, news)
        known = _verdict(entry, "check")
        if isinstance(known, dict) and set(known) <= set(CHECK_COMPUTED):
            return CheckResult({**news, **known}, [])
        result = self.provider.check(olds, news)
        if entry is not None and not result.failures and set(news) <= set(result.inputs):
            added = {k: v for k, v in result.inputs.items() if k not in news or news[k] != v}
            if set(added) <= set(CHECK_COMPUTED):
                _remember(entry, {"check": added})
        return result

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        from . import reads

        after_read = reads.marked(olds)  # the diff that follows a refresh's read: it makes no request
        if self.verify_live and not after_read:  # `pulumi up` reads ConnectWise: never from a cache
            return self.provider.diff(id_, olds, news)
        from pulumi.dynamic import DiffResult

        entry = _entry("diff", self.kind, id_, olds, news)
        known = _verdict(entry, "diff")
        # The read's mark is taken here, or by the provider's diff: a mark left behind would spare a later
        # `pulumi up` in this process its read of ConnectWise.
        if isinstance(known, dict) and set(known) == set(_DIFF_FIELDS) and (not after_read or reads.take(olds)):
            return DiffResult(**known)
        result = self.provider.diff(id_, olds, news)
        if entry is not None:
            _remember(entry, {"diff": {f: getattr(result, f) for f in _DIFF_FIELDS}})
        return result

    def create(self, props: dict[str, Any]) -> Any:
        return self.provider.create(props)

    def read(self, id_: str, props: dict[str, Any]) -> Any:
        """A refresh fetches what the read is computed from (``reads.fetch``) and answers the outputs in state
        as they are when a read with the same key found nothing changed; otherwise the provider computes it."""
        from . import _config, reads

        if not reads.is_refresh(self.kind, props):  # an import: the provider describes the object
            return self.provider.read(id_, props)
        settings = _config.guarded_settings(props)  # a changed tenant stops here, before any request
        answer = reads.fetch(self.kind, _config.get_client(settings), id_, props)
        state = reads.clean(props)
        # The state as the engine hands it back (numbers as floats, no nulls) or as exported: the same key.
        entry = None if answer is None else _entry("read", self.kind, id_, reads.plain(state), answer, _today())
        if _verdict(entry, "read") == READ_UNCHANGED:
            from pulumi.dynamic import ReadResult

            return ReadResult(id_, reads.note(state))
        result = self.provider.read_fetched(id_, props, settings, answer)
        if (entry is not None and result.id == id_ and result.inputs is None
                and reads.plain(result.outs) == reads.plain(state)):
            _remember(entry, {"read": READ_UNCHANGED})
        return result

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        return self.provider.update(id_, olds, news)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self.provider.delete(id_, props)


class SecurityRole(DynamicResource, module="connectwise", name="SecurityRole"):
    """A ConnectWise security role. ``name`` is the UI "Role ID" (max 30 characters).

    Outputs: ``role_id`` (int), ``name``, ``admin_flag``, ``role_type``, ``tenant`` (site and company id).
    ``verify_live=False`` turns off the read of the role on `pulumi up` (see docs/provider.md).
    Adopt an existing role with ``opts=ResourceOptions(import_="<role id>")`` or, where the Pulumi
    SDK's import path cannot load a dynamic provider (pulumi/pulumi#16175), with ``adopt_existing=True``: the
    create then takes over a role of the same name instead of failing.
    """

    role_id: pulumi.Output[int]
    name: pulumi.Output[str]
    role_type: pulumi.Output[Optional[str]]
    admin_flag: pulumi.Output[bool]
    tenant: pulumi.Output[dict]

    def __init__(
        self,
        resource_name: str,
        name: pulumi.Input[str],
        role_type: Optional[pulumi.Input[str]] = None,
        admin_flag: pulumi.Input[bool] = False,
        opts: Optional[pulumi.ResourceOptions] = None,
        adopt_existing: bool = False,
        verify_live: bool = True,
    ) -> None:
        check_program_config()
        inputs = {"name": name, "role_type": role_type, "admin_flag": admin_flag}
        outputs = {k: None for k in SECURITY_ROLE_OUTPUTS}
        super().__init__(
            DeferredProvider("security_role", verify_live=verify_now(verify_live)),
            resource_name,
            {**inputs, **outputs, "adopt_existing": adopt_existing, "stack": pulumi.get_stack()},
            opts,
        )


class ApiMember(DynamicResource, module="connectwise", name="ApiMember"):
    """A ConnectWise API member holding a security role.

    Unset references (time zone, level, locations, department) take the tenant defaults from
    ``/system/apiMembers/default``. Destroying deactivates the member (ConnectWise cannot delete
    members). API keys are made by hand: System › Members › API Members › <member> › API Keys.
    Outputs: ``member_id``, ``identifier``, ``role_id``, ``inactive``, ``tenant`` and the resolved references.
    ``verify_live=False`` turns off the read of the member on `pulumi up` (see docs/provider.md).
    ``adopt_existing=True``: an active member with this identifier is taken over (patched to the code's
    fields) instead of failing; ``opts=ResourceOptions(import_="<member id>")`` adopts it by id.
    """

    member_id: pulumi.Output[int]
    identifier: pulumi.Output[str]
    role_id: pulumi.Output[int]
    inactive: pulumi.Output[bool]
    tenant: pulumi.Output[dict]

    def __init__(
        self,
        resource_name: str,
        identifier: pulumi.Input[str],
        name: pulumi.Input[str],
        role_id: pulumi.Input[int],
        email_address: Optional[pulumi.Input[str]] = None,
        notes: Optional[pulumi.Input[str]] = None,
        time_zone_id: Optional[pulumi.Input[int]] = None,
        structure_level_id: Optional[pulumi.Input[int]] = None,
        security_location_id: Optional[pulumi.Input[int]] = None,
        default_location_id: Optional[pulumi.Input[int]] = None,
        default_department_id: Optional[pulumi.Input[int]] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        verify_live: bool = True,
        adopt_existing: bool = False,
    ) -> None:
        given = locals()
        inputs = {k: given[k] for k in API_MEMBER_INPUTS}
        outputs = {k: None for k in API_MEMBER_OUTPUTS}
        if adopt_existing:  # only then: existing stacks keep their inputs as they are
            inputs["adopt_existing"] = True
        check_program_config()
        super().__init__(DeferredProvider("api_member", verify_live=verify_now(verify_live)), resource_name,
                         {**inputs, **outputs}, opts)


class RolePermissions(DynamicResource, module="connectwise", name="RolePermissions"):
    """The complete permission grid of a security role, verified against ConnectWise.

    Every catalog function not listed in ``grants`` is desired at None. Because ConnectWise's API
    cannot write settings, ``pulumi up`` fails with a checklist until an admin has set them. Every
    ``pulumi up`` reads the role again (``verify_live=False`` turns that off); a preview makes no request.
    Pass the API member's ``identifier`` output as ``member_identifier``: the check then waits for the
    member, so the first ``up`` gives the same checklist every time.
    Outputs: ``live`` (the grid read from ConnectWise), ``pending`` (cells still to set),
    ``drift`` (cells changed in ConnectWise since the last read), ``customize_status``, ``tenant``.
    ``requirement`` (a project manifest's vendor requirement) is for the policy pack only.
    """

    live: pulumi.Output[dict]
    pending: pulumi.Output[list]
    drift: pulumi.Output[list]
    customize_status: pulumi.Output[str]
    role_id: pulumi.Output[int]
    role_name: pulumi.Output[str]
    tenant: pulumi.Output[dict]

    def __init__(
        self,
        resource_name: str,
        role_id: pulumi.Input[int],
        role_name: pulumi.Input[str],
        grants: pulumi.Input[list],
        customize: Optional[pulumi.Input[dict]] = None,
        integration: Optional[pulumi.Input[str]] = None,
        features: Optional[pulumi.Input[list]] = None,
        waivers: Optional[pulumi.Input[Any]] = None,
        checklist_dir: Optional[pulumi.Input[str]] = None,
        member_identifier: Optional[pulumi.Input[str]] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        requirement: Optional[pulumi.Input[dict]] = None,
        verify_live: bool = True,
        tenant_catalog: Optional[pulumi.Input[dict]] = None,
    ) -> None:
        inputs: dict[str, Any] = {
            "role_id": role_id, "role_name": role_name, "grants": grants, "customize": customize,
            "integration": integration, "features": features, "waivers": waivers, "checklist_dir": checklist_dir,
            "member_identifier": member_identifier,
        }
        if requirement is not None:  # built-in integrations: the pack reads the installed manifest
            inputs["requirement"] = requirement
        if tenant_catalog is not None:  # nothing beyond the bundled catalog: inputs as before
            inputs["tenant_catalog"] = tenant_catalog
        outputs = {k: None for k in ROLE_PERMISSIONS_OUTPUTS}
        inputs["stack"] = pulumi.get_stack()
        check_program_config()
        super().__init__(DeferredProvider("role_permissions", verify_live=verify_now(verify_live)), resource_name,
                         {**inputs, **outputs}, opts)
