"""``python -m cwroles.commands`` = the ``cwroles`` console script."""

from cwroles.commands import app

app(prog_name="cwroles")
