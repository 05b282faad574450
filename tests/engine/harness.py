"""Drive the real Pulumi CLI hermetically (see tests/sandbox.py). A missing engine is a failure,
never a skip: run `make setup`."""

import pytest

from tests import sandbox
from tests.sandbox import PINNED, REPO, VENV, Project, outputs, resources, tenant_config  # noqa: F401


def pulumi_bin_dir():
    try:
        return sandbox.pulumi_bin_dir()
    except sandbox.EngineMissing as e:
        pytest.fail(str(e), pytrace=False)
