import pytest

from cwsim.testing import running_server

from .harness import Project


@pytest.fixture
def sim(tmp_path):
    """A fresh emulator over real HTTP for one test."""
    with running_server(db_path=tmp_path / "cwsim.sqlite") as server:
        yield server


def tenant_config(sim, private_key: str | None = None) -> dict:
    """Stack config pointing the provider at ``sim`` (private key as a secret)."""
    from pulumi import automation as auto

    return {
        "connectwise:site": sim.url,
        "connectwise:companyId": sim.company_id,
        "connectwise:clientId": sim.client_id,
        "connectwise:publicKey": sim.public_key,
        "connectwise:privateKey": auto.ConfigValue(private_key or sim.private_key, secret=True),
        "connectwise:maxRetries": "1",
    }


@pytest.fixture
def make_project(tmp_path):
    def make(program: str, name: str = "cwtest") -> Project:
        return Project.create(tmp_path / name, program, name=name)

    return make
