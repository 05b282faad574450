"""What the commands that read a live tenant share (export, audit, catalog diff): which tenant, the client,
the request count, and ConnectWise errors as an admin's message (exit 1), never a traceback."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NoReturn, Optional

import typer

from cwroles import emulator_defaults as D
from cwroles.provider import Client, ConnectWiseError, Settings, TransportError
from cwroles.provider.tenant import RequestCounter, command_settings, counting_client, describe_tenant

from ._common import err, fail

STACK_HELP = ("Read the tenant of this stack (its connectwise:* config, with `pulumi config`); default: the "
              "CONNECTWISE_* variables, else the bundled emulator")
DIR_HELP = "The project folder (where Pulumi.yaml and integrations/ live)"


@dataclasses.dataclass
class Connection:
    settings: Settings
    client: Client
    counter: RequestCounter

    @property
    def tenant(self) -> str:
        return describe_tenant(self.settings)

    @property
    def requests(self) -> int:
        return self.counter.count


def connect(stack: Optional[str], directory: Path) -> Connection:
    try:
        settings = command_settings(stack, directory)
    except ConnectWiseError as e:
        fail(str(e), code=1)
    if settings.emulator and not settings.codebase:
        settings = dataclasses.replace(settings, codebase=D.CODEBASE)  # its codebase is known: no discovery
    client, counter = counting_client(settings)
    return Connection(settings, client, counter)


def read_failed(conn: Connection, e: ConnectWiseError) -> NoReturn:
    """Exit 1 with what went wrong, where, and what to do."""
    text = str(e)
    if conn.settings.emulator and isinstance(e, TransportError):
        text = (f"the bundled emulator does not answer at {conn.settings.site}. Start it with `cwsim serve "
                "--background`, or read your tenant: export the CONNECTWISE_* variables or pass --stack.")
    fail(text, code=1)


def status(text: str) -> None:
    """A progress or status line on stderr (stdout stays the report)."""
    err.print(text, highlight=False, markup=False, soft_wrap=True)


__all__ = ["Connection", "connect", "read_failed", "status", "STACK_HELP", "DIR_HELP", "typer"]
