import pytest

from cwroles.cwsim.testing import running_server

from .harness import Project, pulumi_bin_dir, tenant_config  # noqa: F401


@pytest.fixture
def sim(tmp_path):
    """A fresh emulator over real HTTP for one test."""
    with running_server(db_path=tmp_path / "cwsim.sqlite") as server:
        yield server


@pytest.fixture
def make_project(tmp_path):
    def make(program: str, name: str = "cwtest") -> Project:
        pulumi_bin_dir()  # fails the test, with the fix, when the engine is missing
        return Project.create(tmp_path / name, program, name=name)

    return make
