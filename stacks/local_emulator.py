"""The embedded default: with no ConnectWise tenant configured, stacks run against the bundled emulator.

The provider falls back to the emulator's well-known address and bootstrap admin
(``cwroles/emulator_defaults.py``) when neither ``connectwise:site`` nor ``CONNECTWISE_SITE`` is set;
this makes sure something answers there, starting ``cwsim serve --background`` with its database in
the project's git-ignored ``.cwsim/`` folder. The server keeps running after `pulumi up` (the console
is where the admin applies checklists); stop it with ``cwsim stop``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Mapping

from cwroles import emulator_defaults as D


def tenant_configured(site: object, environ: Mapping[str, str]) -> bool:
    """True when the stack names a ConnectWise site (stack config ``connectwise:site`` or CONNECTWISE_SITE)."""
    return bool(site or environ.get("CONNECTWISE_SITE"))


def answering(site: str = D.SITE) -> bool:
    import httpx  # only without a tenant: a stack with one never pays for importing it

    try:
        return httpx.get(f"{site}/login/companyinfo/{D.COMPANY_ID}", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def ensure_running(project_root: Path, log: Callable[[str], None]) -> None:
    """Start the bundled emulator unless it already answers; raise RuntimeError with a fix if it cannot."""
    if answering():
        log(f"no ConnectWise tenant configured: using the bundled emulator at {D.SITE} "
            f"(console {D.SITE}/console/{D.COMPANY_ID})")
        return
    db = project_root / D.DB_PATH
    db.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "cwroles.cwsim.cli", "serve", "--background", "--host", D.HOST, "--port", str(D.PORT),
         "--db", str(db)],
        capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=60)
    if result.returncode != 0 or not answering():
        raise RuntimeError(
            f"no ConnectWise tenant is configured and the bundled emulator could not be started on {D.SITE}: "
            f"{(result.stderr or result.stdout).strip()[-500:]} — free port {D.PORT}, or configure a tenant "
            "(`pulumi config set connectwise:site …`, see README.md)")
    log(f"no ConnectWise tenant configured: started the bundled emulator at {D.SITE} "
        f"(database {db}, console {D.SITE}/console/{D.COMPANY_ID}; stop it with `cwsim stop --db {db}`)")
