"""``cwroles``: stack files for tenants, and a look at what each vendor integration grants.

    cwroles stack-config --tenant acme --integration mobius --site api-na.myconnectwise.net --company-id acme
    cwroles manifest list
    cwroles manifest show msp-process --features time-entries

One module per command or command group; this file only assembles them. To add a group, write
``commands/<group>.py`` with its own ``app = typer.Typer(...)`` and register it below with
``app.add_typer``; a single command is a function registered with ``app.command``. Shared helpers
(consoles, ``fail``, ``split_csv``) are in ``commands/_common.py``.
"""

from __future__ import annotations

import typer

from . import manifest, stack_config

app = typer.Typer(
    help="ConnectWise PSA security roles and API members as code: stack files and vendor manifests.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("stack-config")(stack_config.stack_config)
app.add_typer(manifest.app, name="manifest")


if __name__ == "__main__":  # pragma: no cover
    app()
