"""Helpers shared by the resource providers: unknown values, check failures, the "verify on up" input, and
the base provider (the tenant guard is ``_config.guarded_settings``, the read marks are ``reads``')."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from pulumi.dynamic import CheckFailure, ConfigureRequest, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc

from cwroles.permissions import text_problem
from cwroles.problems import Problem

from . import _config, reads
from ._client import Client
from ._config import TENANT_KEY, Settings, TenantChanged, guarded_settings  # noqa: F401 (the tenant guard lives with the settings)
from .resources import PRIVATE_KEY_CONFIG, check_program_config, verify_now  # noqa: F401 (their home is the light module)

PROVIDER_KEY = reads.PROVIDER_KEY
clean = reads.clean  # inputs/outputs without the engine's reserved key (its home is the light module)


def is_unknown(value: Any) -> bool:
    """True for a value the engine does not know yet (preview)."""
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def has_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_unknown(v) for v in value)
    return False


def check_name(props: dict[str, Any], key: str, what: str, max_len: int, failures: list[CheckFailure], required: bool = True) -> None:
    """Text within ConnectWise's length limit (the rule is the core's: cwroles.permissions.text_problem)."""
    v = props.get(key)
    if is_unknown(v):
        return
    problem = text_problem(v, what, max_len, required)
    if problem:
        failures.append(CheckFailure(key, "; ".join(x for x in problem if x)))


def add_problems(problems: Iterable[Problem], failures: list[CheckFailure], prop: str) -> None:
    """The core's problems as check failures on ``prop`` (notices are not failures)."""
    failures.extend(CheckFailure(prop, str(p)) for p in problems if p.is_error)


def check_id(props: dict[str, Any], key: str, what: str, failures: list[CheckFailure], required: bool = False) -> None:
    v = props.get(key)
    if is_unknown(v):
        return
    if v is None:
        if required:
            failures.append(CheckFailure(key, f"{what} is required"))
        return
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        failures.append(CheckFailure(key, f"{what} must be a ConnectWise record id (a whole number), got {v!r}"))
        return
    try:
        n = int(v)
        ok = float(v) == n and n > 0
    except ValueError:
        ok = False
    if not ok:
        failures.append(CheckFailure(key, f"{what} must be a ConnectWise record id (a positive whole number), got {v!r}"))


def as_int(v: Any) -> Optional[int]:
    return None if v is None or is_unknown(v) else int(v)


class BaseProvider(ResourceProvider):
    """Stateless: connection settings go to ``provider._config`` (process-wide), never onto self.

    ``verify_live``: the resource classes create their provider with ``verify_live=True`` when the program
    runs a deployment (`pulumi up`) and without it on a preview. The engine hands ``diff`` the provider
    serialized with the new inputs (``__provider``), so on `pulumi up` diff reads ConnectWise and compares it
    with the code: every `up` verifies the live tenant, in any program using these resources, while a
    preview makes no request. ``__provider`` is an internal input: the engine never shows it in a diff.
    """

    serialize_as_secret_always = False  # the pickle holds only a module path (and that flag), nothing secret
    verify_live = False

    def __init__(self, verify_live: bool = False) -> None:
        super().__init__()
        if verify_live:
            self.verify_live = True

    # After each Read the engine asks Diff (refreshed outputs, the inputs in state) to show the refresh's
    # changes. That diff gets the provider recorded by the last `up` and must not read ConnectWise again:
    # each read leaves a mark that its refresh diff takes away (provider.reads).
    def noted_read(self, outs: dict[str, Any]) -> dict[str, Any]:
        return reads.note(outs)

    def should_verify(self, olds: Mapping[str, Any]) -> bool:
        """True in the diff of a deployment (`pulumi up`): read ConnectWise now. False on a preview and in
        the diff that follows a refresh's read."""
        if reads.take(olds):
            return False
        return self.verify_live

    def configure(self, req: ConfigureRequest) -> None:
        _config.configure(req.config.get)

    @staticmethod
    def settings() -> Settings:
        """The configured settings; raises ConfigurationError (with the fix) when incomplete. No request."""
        return _config.current_settings()

    @staticmethod
    def check_settings(olds: Mapping[str, Any]) -> None:
        """In ``check``: incomplete settings fail a new resource at once, so a preview fails too (with the
        fix). An existing resource goes on to ``diff``, whose tenant guard also names the recorded tenant."""
        if not clean(dict(olds)):
            _config.current_settings()

    @staticmethod
    def client(olds: Optional[Mapping[str, Any]] = None) -> Client:
        """The client for the configured tenant; with ``olds``, only if it is the tenant they record."""
        return _config.get_client(guarded_settings(olds) if olds is not None else None)

    @staticmethod
    def tenant_record() -> dict[str, Any]:
        return _config.current_settings().tenant.record()
