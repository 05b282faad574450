"""Fixtures for cwsim tests: one real server per session, reset to bootstrap before each test."""

from __future__ import annotations

import pytest

from cwroles.cwsim.testing import SimServer, running_server


@pytest.fixture(scope="session")
def sim_session():
    with running_server() as server:
        yield server


@pytest.fixture
def sim(sim_session: SimServer) -> SimServer:
    sim_session.clear_faults()
    sim_session.set_token_ttl(3600)
    sim_session.clear_catalog_extras()
    sim_session.reset()
    return sim_session


@pytest.fixture
def api(sim: SimServer):
    with sim.client() as client:
        yield client
