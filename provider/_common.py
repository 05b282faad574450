"""Helpers shared by the resource providers: unknown values, check failures, the base provider."""

from __future__ import annotations

from typing import Any, Iterable, Optional

from pulumi.dynamic import CheckFailure, ConfigureRequest, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc

from cwroles.permissions import text_problem
from cwroles.problems import Problem

from . import _config
from ._client import Client

PROVIDER_KEY = "__provider"


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


def clean(props: dict[str, Any]) -> dict[str, Any]:
    """Inputs/outputs without the engine's reserved keys."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


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
    """Stateless: connection settings go to ``provider._config`` (process-wide), never onto self."""

    serialize_as_secret_always = False  # the pickle holds only a module path, nothing secret

    def configure(self, req: ConfigureRequest) -> None:
        _config.configure(req.config.get)

    @staticmethod
    def client() -> Client:
        return _config.get_client()
