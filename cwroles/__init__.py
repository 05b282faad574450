"""cwroles: ConnectWise PSA security roles and API members as code.

This package is the one home of the data and models shared by the emulator (``cwsim``),
the provider (``provider``), the stack programs (``stacks``) and the policy pack (``policies``):
the module/function catalog, permission levels and grids, and the vendor manifests.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    # __version__ is read from the installed metadata on first use: the program and the provider process
    # import this package on every operation and never need it.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:  # the one version: pyproject.toml's [project] version, as installed
        value = version("cwroles")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
        value = "0+unknown"
    globals()["__version__"] = value
    return value
