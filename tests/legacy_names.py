"""Provider pickles as cwroles wrote them before everything installed under ``cwroles.*``.

Until then the provider package was the top-level ``provider``, so a stack's state holds
``__provider`` = dill pickle of ``provider.<module>.<Class>``. Tests rebuild exactly that by pickling our
classes while they carry their old module name.
"""

from __future__ import annotations

import base64
import sys

import dill
from pulumi.dynamic.dynamic import serialize_provider


def legacy_serialized(provider_cls: type) -> str:
    """``serialize_provider(provider_cls())`` as cwroles < the one installed name wrote it."""
    real = provider_cls.__module__
    legacy = real.removeprefix("cwroles.")
    saved = {n: sys.modules.get(n) for n in ("provider", legacy)}
    sys.modules.update({"provider": sys.modules["cwroles.provider"], legacy: sys.modules[real]})
    provider_cls.__module__ = legacy
    try:
        out = serialize_provider(provider_cls())
    finally:
        provider_cls.__module__ = real
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    raw = base64.b64decode(out)
    assert legacy.encode() in raw and b"cwroles" not in raw, "the pickle must name only the legacy module"
    return out


def provider_module(serialized: str) -> str:
    """The module a serialized provider names (``cwroles.provider.x`` or legacy ``provider.x``)."""
    raw = base64.b64decode(serialized)
    for prefix in (b"cwroles.provider.", b"provider."):
        start = raw.find(prefix)
        if start >= 0:
            end = start + len(prefix)
            while end < len(raw) and (chr(raw[end]).isalnum() or raw[end] == ord("_")):
                end += 1
            return raw[start:end].decode()
    raise ValueError("no provider module in this pickle")


def provider_class(serialized: str) -> type:
    """The class that serves the provider ``serialized`` holds (a DeferredProvider's: that of its kind)."""
    import importlib

    from cwroles.provider import resources

    provider = dill.loads(base64.b64decode(serialized))
    if isinstance(provider, resources.DeferredProvider):
        module, name = resources.PROVIDERS[provider.kind]
        return getattr(importlib.import_module(module, "cwroles.provider"), name)
    return provider.__class__


def to_legacy(serialized: str) -> str:
    """The pickle cwroles wrote before the one installed name, for the provider ``serialized`` holds."""
    return legacy_serialized(provider_class(serialized))


def to_previous(serialized: str) -> str:
    """The pickle cwroles 0.1.0 wrote before resources deferred their providers: the provider class itself
    (``cwroles.provider.<module>.<Class>``)."""
    return serialize_provider(provider_class(serialized)())
