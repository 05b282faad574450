"""``cwsim`` command line: serve (foreground or background), stop, status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import urllib.request
import typer

from cwroles import __version__, emulator_defaults as D

app = typer.Typer(add_completion=False, rich_markup_mode=None, help="cwsim — ConnectWise PSA REST API emulator for cwroles.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cwsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                 help="Print the version and exit.")) -> None:
    """cwsim — ConnectWise PSA REST API emulator for cwroles."""


def _pidfile(db: str) -> Path:
    return Path(db).resolve().parent / "cwsim.pid"


def _banner(host: str, port: int, company_id: str) -> str:
    from .backend import Backend

    backend = Backend(DB_HOLDER["db"])
    c = backend.company(company_id)
    backend.close()
    site = f"http://{host}:{port}"
    return "\n".join([
        f"cwsim listening on {site}",
        f"  API:        {site}/{D.CODEBASE}apis/3.0",
        f"  console:    {site}/console/{c.company_id}",
        f"  admin:      {site}/_cwsim/  (requests, faults, reset, companies)",
        f"  company id: {c.company_id}",
        f"  clientId:   {c.client_id}",
        f"  admin API member: {D.ADMIN_IDENTIFIER}",
        f"  public key:  {c.bootstrap_public}",
        f"  private key: {c.bootstrap_private}   (emulator bootstrap key, not a real tenant's)",
    ])


DB_HOLDER: dict[str, str] = {"db": D.DB_PATH}


def _up(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/_cwsim/health", timeout=0.5) as r:
            return r.status == 200
    except (OSError, ValueError):
        return False


@app.command()
def serve(
    host: str = typer.Option(D.HOST, help="Address to listen on (keep it local: the console has no auth)."),
    port: int = typer.Option(D.PORT, help="TCP port."),
    db: str = typer.Option(D.DB_PATH, help="SQLite file holding every emulated company."),
    company: str = typer.Option(D.COMPANY_ID, help="Company created (if missing) at start."),
    background: bool = typer.Option(False, "--background", help="Start detached; pid goes next to the db."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Run the emulator (creates the company and its bootstrap admin on first start)."""
    from .backend import Backend

    DB_HOLDER["db"] = db
    backend = Backend(db)
    backend.ensure_company(company)
    backend.close()
    if background:
        if _up(host, port):
            typer.echo(f"cwsim is already answering on {host}:{port}", err=True)
            raise typer.Exit(1)
        Path(db).resolve().parent.mkdir(parents=True, exist_ok=True)
        log = open(Path(db).resolve().parent / "cwsim.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "cwroles.cwsim.cli", "serve", "--host", host, "--port", str(port), "--db", db,
             "--company", company, "--log-level", log_level],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        _pidfile(db).write_text(str(proc.pid))
        deadline = time.monotonic() + 15
        while not _up(host, port):
            if proc.poll() is not None or time.monotonic() > deadline:
                typer.echo(f"cwsim failed to start; see {Path(db).resolve().parent / 'cwsim.log'}", err=True)
                raise typer.Exit(1)
            time.sleep(0.05)
        typer.echo(_banner(host, port, company))
        typer.echo(f"  pid {proc.pid} (pidfile {_pidfile(db)}); stop with: cwsim stop --db {db}")
        return
    import uvicorn

    from .app import create_app

    application = create_app(db, default_company=company)
    typer.echo(_banner(host, port, company), err=False)
    sys.stdout.flush()
    pidfile = _pidfile(db)
    if not pidfile.exists():
        pidfile.write_text(str(os.getpid()))
    try:
        uvicorn.run(application, host=host, port=port, log_level=log_level, lifespan="off")
    finally:
        if pidfile.exists() and pidfile.read_text().strip() == str(os.getpid()):
            pidfile.unlink()


@app.command()
def stop(db: str = typer.Option(D.DB_PATH, help="The db whose folder holds cwsim.pid.")) -> None:
    """Stop a background cwsim started with the same --db."""
    pidfile = _pidfile(db)
    if not pidfile.exists():
        typer.echo(f"no pidfile at {pidfile}; is cwsim running with --db {db}?", err=True)
        raise typer.Exit(1)
    pid = int(pidfile.read_text().strip())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        typer.echo(f"cwsim (pid {pid}) was not running; removed stale pidfile")
        pidfile.unlink(missing_ok=True)
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    pidfile.unlink(missing_ok=True)
    typer.echo(f"stopped cwsim (pid {pid})")


@app.command()
def status(host: str = typer.Option(D.HOST, help="Address cwsim listens on."),
           port: int = typer.Option(D.PORT, help="TCP port cwsim listens on.")) -> None:
    """Exit 0 if cwsim answers on host:port."""
    if _up(host, port):
        typer.echo(f"cwsim is up on http://{host}:{port}")
        return
    typer.echo(f"cwsim is not answering on http://{host}:{port}", err=True)
    raise typer.Exit(1)


def main(argv: Optional[list[str]] = None) -> None:
    app(argv)


if __name__ == "__main__":
    app()
