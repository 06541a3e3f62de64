"""What every command module shares: the ``gis-service`` application, its consoles, failing with
a message, and publishing a run."""

from __future__ import annotations

import contextlib
import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from gis_service.settings import get_settings

app = typer.Typer(help="Sanitation coverage and scale-up planning (PostGIS, OGC API).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)


@contextlib.contextmanager
def quiet_stdout(enabled: bool = True):
    """Send what solvers print straight to file descriptor 1 (HiGHS's banner) to stderr, so a
    command's JSON on stdout stays parseable."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def fail(message: str, code: int = 1) -> None:
    """Print ``error: message`` to stderr and end the command with ``code``."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def external() -> bool:
    """Whether the database is given by ``GIS_SERVICE_DATABASE_URL`` (not the managed cluster)."""
    return bool(get_settings().database_url)


def group(name: str, help: str) -> typer.Typer:
    """A command group ``gis-service NAME ...``."""
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


def publish_run(engine, kind: str, run_id: int) -> None:
    """Publish a coverage run or scale-up plan (``analysis.publishing``) and say what it replaced."""
    import getpass

    from gis_service.analysis.publishing import WHAT, publish

    try:
        with engine.begin() as conn:
            done = publish(conn, kind, run_id, by=f"{getpass.getuser()} (command line)")
    except ValueError as exc:
        fail(str(exc))
    replaced = f"; it replaces {WHAT[kind]} {done['replaces']}" if done["replaces"] else ""
    console.print(f"published {WHAT[kind]} {run_id}: the default layers, the web map and the QGIS project "
                  f"show it{replaced}", soft_wrap=True)
