"""What /proc tells about local processes (Linux): the shared helpers of the emulator guard, `cwsim stop` and
scripts/no-leftovers.py."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from cwroles import local_processes as P


def test_the_process_listening_on_a_port_and_its_ports_are_found():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert P.pid_listening_on(port) == os.getpid()
        assert port in P.ports_of(os.getpid())
    assert P.pid_listening_on(port) is None  # closed: nobody


def test_only_a_cwsim_server_counts_as_one():
    assert P.is_cwsim_serve(("python", "-m", "cwroles.cwsim.cli", "serve", "--port", "8765"))
    assert P.is_cwsim_serve(("/usr/local/bin/cwsim", "serve"))
    # a command that only mentions cwsim (a test run, an editor) is not the emulator (this was taken for one)
    assert not P.is_cwsim_serve(("python", "-m", "pytest", "tests/cwsim/test_sim_cli.py"))
    assert not P.is_cwsim_serve(("cwsim", "status"))


def test_the_database_of_a_server_is_its_db_argument_from_its_working_directory(tmp_path):
    me, cwd = os.getpid(), Path.cwd().resolve()
    assert P.served_database(me, ("cwsim", "serve"), "default.sqlite") == cwd / "default.sqlite"
    assert P.served_database(me, ("cwsim", "serve", "--db", "a/t.sqlite"), "x") == cwd / "a" / "t.sqlite"
    assert P.served_database(me, ("cwsim", "serve", f"--db={tmp_path}/t.sqlite"), "x") == tmp_path / "t.sqlite"
