"""``cwsim`` command line: serve (foreground or background), stop, status."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import urllib.request
import typer

from cwroles import __version__, emulator_defaults as D
from cwroles.local_processes import command_line, is_cwsim_serve, served_database

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
    """One pidfile per database (``tenant.sqlite`` → ``tenant.sqlite.pid``): two emulators whose databases
    share a folder never share a pidfile, so stopping one can never stop the other."""
    path = Path(db).resolve()
    return path.with_name(path.name + ".pid")


def _logfile(db: str) -> Path:
    path = Path(db).resolve()
    return path.with_name(path.name + ".log")


UNKNOWN = object()  # the system cannot tell what a process is (no /proc)


def _db_served_by(pid: int) -> object:
    """What process ``pid`` is, from /proc: the database it serves (Path) if it is a ``cwsim serve``, None if it
    is not running or is another program, :data:`UNKNOWN` when the system cannot tell."""
    if not Path("/proc/self/cmdline").exists():
        return UNKNOWN
    try:
        args = command_line(pid)
        if not is_cwsim_serve(args):
            return None
        return served_database(pid, args, D.DB_PATH)
    except FileNotFoundError:
        return None  # not running
    except OSError:
        return UNKNOWN  # e.g. another user's process


class PortBusy(OSError):
    pass


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, bound before anything is printed (uvicorn serves on it)."""
    try:
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as e:
        raise PortBusy(f"cwsim cannot listen on {host}:{port}: {host!r} is not an address of this machine ({e})") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart right after a stop
    try:
        sock.bind(addr)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        what = "the port is already in use" if e.errno in (98, 48, 10048) else e.strerror or str(e)
        raise PortBusy(f"cwsim cannot listen on {host}:{port}: {what}. Is another cwsim (or another program) "
                       f"running there? Check with `cwsim status --port {port}`, stop it, or choose another "
                       "--port (CWROLES_EMULATOR_PORT for cwroles).") from None
    return sock


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


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


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
        try:
            _bind(host, port).close()  # fail here, clearly, rather than in the detached child
        except PortBusy as e:
            typer.echo(str(e), err=True)
            raise typer.Exit(1) from None
        Path(db).resolve().parent.mkdir(parents=True, exist_ok=True)
        logfile = _logfile(db)
        with open(logfile, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "cwroles.cwsim.cli", "serve", "--host", host, "--port", str(port), "--db",
                 str(Path(db).resolve()), "--company", company, "--log-level", log_level],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        _pidfile(db).write_text(str(proc.pid))
        deadline = time.monotonic() + 15
        while not _up(host, port):
            if proc.poll() is not None or time.monotonic() > deadline:
                typer.echo(f"cwsim failed to start; see {logfile}", err=True)
                raise typer.Exit(1)
            time.sleep(0.05)
        typer.echo(_banner(host, port, company))
        typer.echo(f"  pid {proc.pid} (pidfile {_pidfile(db)}, log {logfile}); stop with: cwsim stop --db {db}")
        return
    import uvicorn

    from .app import create_app

    try:
        sock = _bind(host, port)  # before the banner: a busy port fails without printing keys or "listening"
    except PortBusy as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from None
    application = create_app(db, default_company=company)
    typer.echo(_banner(host, port, company), err=False)
    sys.stdout.flush()
    pidfile = _pidfile(db)
    if not pidfile.exists():
        pidfile.write_text(str(os.getpid()))
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it for the previous handler: exit cleanly there so
    # the pidfile is removed (the default handler would end the process before the finally below).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        server = uvicorn.Server(uvicorn.Config(application, host=host, port=port, log_level=log_level,
                                               lifespan="off"))
        server.run(sockets=[sock])
    finally:
        sock.close()
        if pidfile.exists() and pidfile.read_text().strip() == str(os.getpid()):
            pidfile.unlink()


@app.command()
def stop(db: str = typer.Option(D.DB_PATH, help="The database of the cwsim to stop (its pidfile is <db>.pid).")) -> None:
    """Stop the cwsim serving --db (started with `cwsim serve --db <db>`); never another database's."""
    pidfile = _pidfile(db)
    legacy = Path(db).resolve().parent / "cwsim.pid"  # one pidfile per folder, before per-database pidfiles
    if not pidfile.exists() and legacy.exists():
        try:
            if _db_served_by(int(legacy.read_text().strip())) == Path(db).resolve():
                pidfile = legacy
        except ValueError:
            pass
    if not pidfile.exists():
        typer.echo(f"no pidfile at {pidfile}; is cwsim running with --db {db}?", err=True)
        raise typer.Exit(1)
    try:
        pid = int(pidfile.read_text().strip())
    except ValueError:
        typer.echo(f"{pidfile} does not hold a process id; removed it", err=True)
        pidfile.unlink(missing_ok=True)
        raise typer.Exit(1) from None
    served = _db_served_by(pid)
    if served is None:
        typer.echo(f"cwsim (pid {pid}) was not running; removed stale pidfile {pidfile}")
        pidfile.unlink(missing_ok=True)
        return
    if served is not UNKNOWN and served != Path(db).resolve():
        typer.echo(f"pid {pid} in {pidfile} serves {served}, not {Path(db).resolve()}; left it running and "
                   "removed the stale pidfile", err=True)
        pidfile.unlink(missing_ok=True)
        raise typer.Exit(1)
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
