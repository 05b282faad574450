"""``cwroles``: stack files for tenants, and a look at what each vendor integration grants.

    cwroles stack-config --tenant acme --integration mobius --site api-na.myconnectwise.net --company-id acme
    cwroles manifest list
    cwroles manifest show msp-process --features time-entries
    cwroles policy-pack cwroles-policy        # a pack for `pulumi preview --policy-pack cwroles-policy`
    cwroles provider-plugin plugins/pulumi-python   # the launcher that makes import_ work
    cwroles export --role "Legacy RMM"        # a live role → integrations/<name>.yaml + a stack that adopts it
    cwroles audit --markdown audit.md         # every role and API member, by the policy pack's rules
    cwroles catalog diff                      # the tenant's catalog against the bundled one

One module per command or command group; this file only assembles them. To add a group, write
``commands/<group>.py`` with ``app = group("…help…")`` (from ``commands/_common.py``) and register it
below with ``app.add_typer``; a single command is a function registered with ``app.command``. Shared
helpers (consoles, ``fail``, ``split_csv``, ``print_commands``) are in ``commands/_common.py``.
Every option needs ``help=``; booleans are flags (``typer.Option(False, "--name", help=...)``).
"""

from __future__ import annotations

from typing import Optional

import typer

from cwroles import __version__

from . import audit, catalog, drift, export, manifest, policy_pack, provider_plugin, stack_config
from ._common import group

app = group("ConnectWise PSA security roles and API members as code: stack files and vendor manifests.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cwroles {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the cwroles version and exit."
    ),
) -> None:
    """ConnectWise PSA security roles and API members as code: stack files and vendor manifests."""


app.command("stack-config", short_help="Write the stack file of one tenant and integration.")(stack_config.stack_config)
app.add_typer(manifest.app, name="manifest")
app.command("policy-pack", short_help="Write a policy pack directory for pulumi preview --policy-pack.")(
    policy_pack.policy_pack)
app.command("provider-plugin", short_help="Write the dynamic-provider launcher that makes import_ work.")(
    provider_plugin.provider_plugin)
app.command("drift", short_help="Check every stack against its live tenant (read-only), with reports.")(drift.drift)
app.command("export", short_help="Write a manifest and a stack file that adopt a live role and its API member.")(
    export.export)
app.command("audit", short_help="Judge every role and API member of a tenant by the policy pack's rules.")(audit.audit)
app.add_typer(catalog.app, name="catalog")


if __name__ == "__main__":  # pragma: no cover
    app()
