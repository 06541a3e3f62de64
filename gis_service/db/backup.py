"""Backups of the planning database: ``pg_dump``'s custom format (compressed, restorable table by
table with ``pg_restore``) and beside it a manifest, ``FILE.manifest.json``: the schema revision,
the row count of every table, PostgreSQL's and PostGIS's versions and when it was made.

A restore replaces every object the dump holds, in one transaction (``pg_restore --clean
--single-transaction``: a failure leaves the database as it was), refuses a dump from a newer
schema revision than this version of gis-service knows, and migrates an older one up to head."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gis_service.db.cluster import find_pg_bin
from gis_service.db.migrate import current_revision, head_revision, known_revisions, upgrade


class BackupError(RuntimeError):
    """A backup or restore that cannot be done: the message says why and what to do."""


@dataclass
class Restored:
    revision: str
    upgraded_to: str | None
    counts: dict[str, int]


def manifest_path(file: Path) -> Path:
    return file.with_name(file.name + ".manifest.json")


def table_counts(url: str) -> dict[str, int]:
    """Rows per table of the public schema (exact counts)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys' "
                "ORDER BY tablename")).scalars().all()
            return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
    finally:
        engine.dispose()


def backup(url: str, file: Path, *, pg_bin: Path | None = None) -> dict:
    """Dump the database to ``file`` and write its manifest; returns the manifest."""
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    revision = current_revision(url)
    counts = table_counts(url)
    _run(_tool("pg_dump", pg_bin), url, ["--format=custom", "--no-owner", "--no-privileges", "--file", str(file)])
    engine = create_engine(url)
    with engine.connect() as conn:
        versions = {"postgresql": conn.execute(text("SHOW server_version")).scalar(),
                    "postgis": conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'"))
                    .scalar()}
    engine.dispose()
    manifest = {"made_by": "gis-service db backup", "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "database": make_url(url).database, "schema_revision": revision, "row_counts": counts,
                "versions": versions, "bytes": file.stat().st_size}
    manifest_path(file).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def dump_revision(file: Path, *, pg_bin: Path | None = None) -> str | None:
    """The schema revision recorded in the dump itself (its ``alembic_version`` rows)."""
    done = subprocess.run([_tool("pg_restore", pg_bin), "--data-only", "--table", "alembic_version", "--file", "-",
                           str(file)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{file} is not a gis-service backup (pg_restore: {_first(done.stderr)})")
    match = re.search(r"^COPY public\.alembic_version .*? FROM stdin;\n(\w+)\n", done.stdout, flags=re.M)
    return match.group(1) if match else None


def restore(url: str, file: Path, *, pg_bin: Path | None = None) -> Restored:
    """Replace the database's contents by the dump's, then migrate it to head if it is older."""
    file = Path(file)
    if not file.is_file():
        raise BackupError(f"{file} does not exist")
    revision = dump_revision(file, pg_bin=pg_bin)
    if revision is None:
        raise BackupError(f"{file} holds no schema revision (alembic_version): not a gis-service backup")
    if revision not in known_revisions():
        raise BackupError(f"{file} is at schema revision {revision}, which this version of gis-service does not "
                          f"know (its newest is {head_revision()}): restore it with the version that made it, "
                          "or upgrade gis-service first")
    _run(_tool("pg_restore", pg_bin), url, ["--clean", "--if-exists", "--no-owner", "--no-privileges",
                                            "--single-transaction", "--exit-on-error", str(file)])
    upgraded = None
    if revision != head_revision():
        upgrade(url)
        upgraded = head_revision()
    _grant(url)
    return Restored(revision, upgraded, table_counts(url))


def _grant(url: str) -> None:
    """The dump carries no owners or privileges (it restores anywhere): give the restored objects
    back to the database roles (``roles.py``), as the migrations do."""
    from sqlalchemy import create_engine

    from gis_service.db.roles import apply_grants, create_roles

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            create_roles(conn)
            apply_grants(conn)
    finally:
        engine.dispose()


def _tool(name: str, pg_bin: Path | None) -> str:
    try:
        return str(find_pg_bin(pg_bin) / name)
    except Exception as exc:  # noqa: BLE001 - no server binaries: the client's may be on PATH
        from shutil import which

        found = which(name)
        if found is None:
            raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client-15) "
                              "or set GIS_SERVICE_PG_BIN_DIR") from exc
        return found


def _run(tool: str, url: str, args: list[str]) -> None:
    """Run a PostgreSQL client against ``url``; the password goes by environment, never argv."""
    parsed = make_url(url)
    env = {**os.environ, "PGPASSWORD": parsed.password or "", "PGCONNECT_TIMEOUT": "10"}
    command = [tool, "--host", parsed.host or "127.0.0.1", "--port", str(parsed.port or 5432),
               "--username", parsed.username or "postgres", "--dbname", parsed.database, *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(tool).name} failed: {_first(done.stderr)}")


def _first(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no message"
