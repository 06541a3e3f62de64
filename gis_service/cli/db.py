"""``gis-service db``: the managed local PostGIS (or GIS_SERVICE_DATABASE_URL), migrations, backups."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from gis_service.cli.common import console, external, fail, group
from gis_service.db.cluster import ClusterError
from gis_service.settings import get_settings

db_app = group("db", "The database: managed local PostGIS or GIS_SERVICE_DATABASE_URL.")


@db_app.command("up")
def db_up() -> None:
    """Start the managed cluster (initialising it on first use) and create the database."""
    from gis_service.db.engine import managed_cluster

    if external():
        console.print("GIS_SERVICE_DATABASE_URL is set: using the external database, nothing to start")
        return
    cluster = managed_cluster()
    try:
        started = cluster.start()
        created = cluster.ensure_database()
    except ClusterError as exc:
        fail(str(exc))
    state = "started" if started else "already running (reused)"
    console.print(f"PostGIS cluster {state}: 127.0.0.1:{cluster.port}, data in {cluster.pgdata}"
                  + ("; database created" if created else ""))


@db_app.command("down")
def db_down() -> None:
    """Stop the managed cluster (data stays)."""
    from gis_service.db.engine import managed_cluster

    stopped = managed_cluster().stop()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say which database is used and whether it answers; exit 1 when it does not."""
    from sqlalchemy import text

    from gis_service.db.engine import database_url, make_engine, managed_cluster
    from gis_service.db.migrate import current_revision, head_revision

    s = get_settings()
    if not s.database_url:
        cluster = managed_cluster(s)
        running = cluster.is_running()
        console.print(f"managed cluster in {cluster.pgdata}: {'running' if running else 'stopped'} "
                      f"(port {cluster.port})", soft_wrap=True)
        if not running:
            raise typer.Exit(1)
    try:
        url = database_url(s)
        engine = make_engine(url)
        with engine.connect() as conn:
            version = conn.execute(text("SELECT postgis_lib_version()")).scalar()
        console.print(f"database {engine.url.render_as_string(hide_password=True)}: PostGIS {version}, "
                      f"schema revision {current_revision(url) or 'none'} (head {head_revision()})",
                      soft_wrap=True)
    except Exception as exc:  # noqa: BLE001 - status reports any failure
        fail(f"database not reachable: {exc}")


@db_app.command("url")
def db_url(hide_password: Annotated[bool, typer.Option(help="Mask the password")] = False) -> None:
    """Print the database URL (for psql, QGIS or scripts)."""
    from sqlalchemy.engine import make_url

    from gis_service.db.engine import database_url

    try:
        url = make_url(database_url())
    except ClusterError as exc:
        fail(str(exc))
    print(url.render_as_string(hide_password=hide_password))


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context) -> None:
    """Open psql on the database (extra arguments go to psql)."""
    from sqlalchemy.engine import make_url

    from gis_service.db.engine import database_url

    url = make_url(database_url())
    env = dict(os.environ, PGPASSWORD=url.password or "")
    args = ["psql", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "",
            url.database or "", *ctx.args]
    raise typer.Exit(subprocess.call(args, env=env))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations (to the latest by default)."""
    from gis_service.db.engine import database_url
    from gis_service.db.migrate import current_revision, upgrade

    url = database_url()
    upgrade(url, revision)
    console.print(f"schema at revision {current_revision(url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: str,
    yes: Annotated[bool, typer.Option("--yes", help="Go ahead although the database holds data")] = False,
    backup_file: Annotated[Optional[Path], typer.Option("--backup", help="Where the backup taken first goes "
                                                        "(default: <data dir>/backups/)")] = None,
) -> None:
    """Roll the schema back to REVISION ('base' removes every table). A backup is taken first; a
    database that holds data needs --yes, since a step back may drop tables and columns."""
    from gis_service.db.backup import BackupError, backup, table_counts
    from gis_service.db.engine import database_url
    from gis_service.db.migrate import current_revision, downgrade

    url = database_url()
    rows = sum(n for table, n in table_counts(url).items() if table != "alembic_version")
    if rows and not yes:
        fail(f"the database holds {rows:,} rows and a step back may drop tables or columns with them: pass "
              "--yes to go ahead (a backup is taken first)", 2)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = backup_file or get_settings().data_dir / "backups" / f"before-downgrade-{stamp}.dump"
    try:
        backup(url, target, pg_bin=get_settings().pg_bin_dir)
    except BackupError as exc:
        fail(f"no downgrade: the backup taken first failed ({exc})")
    console.print(f"backup of revision {current_revision(url) or 'base'} in {target} "
                  f"(gis-service db restore {target} --yes brings it back)")
    downgrade(url, revision)
    console.print(f"schema at revision {current_revision(url) or 'base'}")


@db_app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(help="The dump to write (pg_dump custom format)")]) -> None:
    """Back up the whole database: FILE (pg_dump custom format) and FILE.manifest.json (schema
    revision and row counts)."""
    from gis_service.db.backup import BackupError, backup, manifest_path
    from gis_service.db.engine import database_url

    try:
        manifest = backup(database_url(), file, pg_bin=get_settings().pg_bin_dir)
    except BackupError as exc:
        fail(str(exc))
    rows = sum(manifest["row_counts"].values())
    console.print(f"backup of revision {manifest['schema_revision']}: {rows:,} rows in "
                  f"{len(manifest['row_counts'])} tables, {manifest['bytes'] / 2**20:.1f} MB in {file}; "
                  f"manifest {manifest_path(file)}")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A dump made by gis-service db backup")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the database's contents")] = False,
) -> None:
    """Replace the database's contents by a backup's, in one transaction; an older schema is then
    migrated to this version's. Refuses a backup from a newer schema revision."""
    from gis_service.db.backup import BackupError, manifest_path, restore
    from gis_service.db.engine import database_url

    if not yes:
        fail(f"restoring {file} replaces every table of the database: pass --yes to go ahead", 2)
    try:
        done = restore(database_url(), file, pg_bin=get_settings().pg_bin_dir)
    except BackupError as exc:
        fail(str(exc), 2)
    expected = manifest_path(file)
    note = ""
    if expected.is_file():
        wanted = json.loads(expected.read_text(encoding="utf-8"))["row_counts"]
        differ = [t for t, n in wanted.items() if done.counts.get(t) != n] if done.upgraded_to is None else []
        note = "; row counts equal the manifest's" if not differ else f"; row counts differ in {', '.join(differ)}"
    console.print(f"restored revision {done.revision} from {file}"
                  + (f", migrated to {done.upgraded_to}" if done.upgraded_to else "")
                  + f": {sum(done.counts.values()):,} rows{note}")
