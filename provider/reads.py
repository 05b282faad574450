"""A refresh's reads, as far as they need no model: what each resource kind fetches, and the marks a read
leaves for the diff that follows it.

A refresh reads every resource, in a provider process that has loaded nothing else. What a read fetches is
decided here, once (the providers compute their outputs from it); ``resources.DeferredProvider`` fetches it
and answers from a remembered verdict when the answer and everything else the read depends on are what they
were when the provider last computed the read and found nothing changed. That needs only the HTTP client,
not pydantic, the catalog or the providers' schemas.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, Mapping

from ._errors import NotFound

if TYPE_CHECKING:
    from ._client import Client

PROVIDER_KEY = "__provider"  # the engine's reserved key for the serialized provider


def clean(props: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs/outputs without the engine's reserved key."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}



def is_refresh(kind: str, props: Mapping[str, Any]) -> bool:
    """True for the read of a resource Pulumi manages (its state has the inputs); False for an import, where
    the provider describes what ConnectWise has as the inputs (and may fetch more)."""
    if kind == "role_permissions":
        return "grants" in props  # an empty list is a grid: everything None
    if kind == "security_role":
        return bool(props.get("name"))
    if kind == "api_member":
        return bool(props.get("identifier"))
    raise ValueError(f"unknown resource kind {kind!r}")


def role_id_of(id_: str, props: Mapping[str, Any]) -> int:
    """A permission grid's role: its ``role_id`` output (its id is its role's)."""
    return int(float(props.get("role_id") or id_))


def fetch(kind: str, client: Client, id_: str, props: Mapping[str, Any]) -> Any:
    """What ConnectWise answers to a refresh of ``kind`` (JSON), or None when the object is gone (404)."""
    try:
        if kind == "security_role":
            return client.security_role_record(int(id_))
        if kind == "api_member":
            return client.api_member_record(int(id_))
        if kind == "role_permissions":  # one page of settings (the role itself is SecurityRole's read)
            return client.role_settings_records(role_id_of(id_, props))
    except NotFound:
        return None
    raise ValueError(f"unknown resource kind {kind!r}")


# ---- marks: after each Read the engine asks Diff (refreshed outputs, the inputs in state) to show the
# refresh's changes. That diff gets the provider recorded by the last `up` and must not read ConnectWise
# again: each read leaves a mark that its refresh diff takes away.
_lock = threading.Lock()
_marks: dict[str, int] = {}


def plain(v: Any) -> Any:
    """A property value as the engine hands it back: whole floats are ints, None and absent are the same."""
    if isinstance(v, float) and v.is_integer():
        return int(v)  # the engine hands numbers back as floats
    if isinstance(v, Mapping):
        # The engine drops null properties on the way back: absent and None are the same here.
        return {str(k): plain(x) for k, x in v.items() if k != PROVIDER_KEY and x is not None}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def fingerprint(props: Mapping[str, Any]) -> str:
    return json.dumps(plain(props), sort_keys=True, default=str)


def note(outs: dict[str, Any]) -> dict[str, Any]:
    """Leave the mark of a read that returned ``outs``; returns ``outs``."""
    key = fingerprint(outs)
    with _lock:
        _marks[key] = _marks.get(key, 0) + 1
    return outs


def marked(olds: Mapping[str, Any]) -> bool:
    """True when ``olds`` are the outputs of a read whose diff has not come yet."""
    with _lock:
        return bool(_marks.get(fingerprint(olds)))


def take(olds: Mapping[str, Any]) -> bool:
    """Take the mark a read left for ``olds`` away; True if there was one (this diff follows a read)."""
    key = fingerprint(olds)
    with _lock:
        if _marks.get(key):
            _marks[key] -= 1
            return True
    return False


def pending() -> bool:
    """True while a read of this process still waits for its refresh diff."""
    with _lock:
        return any(n > 0 for n in _marks.values())
