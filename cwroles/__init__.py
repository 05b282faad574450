"""cwroles: ConnectWise PSA security roles and API members as code.

This package is the one home of the data and models shared by the emulator (``cwsim``),
the provider (``provider``), the stack programs (``stacks``) and the policy pack (``policies``):
the module/function catalog, permission levels and grids, and the vendor manifests.
"""

from importlib.metadata import PackageNotFoundError, version as _distribution_version

try:  # the one version: pyproject.toml's [project] version, as installed
    __version__ = _distribution_version("cwroles")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0+unknown"
