"""Least privilege: three database roles, created by migration 0011, and the server's connections
as those roles, never as a superuser.

- ``gis_service_owner`` owns every table, view and function of the schema; migrations, the command
  line's analyses and the job workers that run them write as it. It is not a superuser.
- ``gis_service_web`` is the planning API's role: it reads every table, writes only the planning
  tables (facilities, scenarios and their edit logs, jobs) and the two publishing columns of the
  run tables; its statements are cancelled after ``statement_timeout_s``.
- ``gis_service_read`` is the OGC role (pygeoapi's feature and tile providers): it reads the
  published layer views and nothing else: no household points (unless they are published), no
  API keys, no edit logs, no jobs.

``serving_urls`` turns the URL the server is given (often an administrator's) into one URL per
role: it gives the roles a login with a generated password, kept in ``<data dir>/db-roles.json``
(mode 600) so that several servers on one database agree, and checks that none of them is a
superuser. Explicit URLs (``GIS_SERVICE_WEB_DATABASE_URL``, ``…_READ_…``, ``…_WORKER_…``) are used
as they are, for databases whose roles are managed by somebody else."""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from gis_service.settings import Settings

OWNER, WEB, READ = "gis_service_owner", "gis_service_web", "gis_service_read"
ROLES = (OWNER, WEB, READ)
# what the planning API writes (gis_service/planning/facilities.py, planning/scenarios.py, job_queue.py,
# analysis/publishing.py)
WEB_WRITES = {"facility": "INSERT, UPDATE, DELETE", "facility_edit": "INSERT, UPDATE",
              "scenario": "INSERT, UPDATE, DELETE", "scenario_facility": "INSERT, DELETE",
              "scenario_edit": "INSERT, UPDATE", "parameter_set": "INSERT, UPDATE, DELETE",
              "data_source": "INSERT", "job": "INSERT, UPDATE, DELETE"}
WEB_COLUMN_WRITES = {"coverage_run": ("published_at", "published_by"),
                     "scaleup_run": ("published_at", "published_by")}
log = logging.getLogger("gis_service.db.roles")


class RoleError(RuntimeError):
    """The server cannot connect with least privilege; the message says what to do."""


def create_roles(conn: Connection) -> None:
    """The three roles, without login (``serving_urls`` gives them one), if they are missing.
    Roles belong to the whole PostgreSQL cluster, so several databases share them."""
    for role in ROLES:
        conn.execute(text(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION; END IF; END $$"))


def apply_grants(conn: Connection) -> None:
    """Give the owner every object of the schema that no extension owns, and the web and read
    roles their privileges. Run by migration 0011 and after every later upgrade (migrations'
    env.py), so tables added later are covered too."""
    conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {OWNER}"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {WEB}, {READ}"))
    objects = conn.execute(text("""
        SELECT c.relkind, quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype IN ('e', 'a', 'i'))""")).all()
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
    for kind, name in objects:
        conn.execute(text(f"ALTER {kinds[kind]} {name} OWNER TO {OWNER}"))
    for (signature,) in conn.execute(text("""
            SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid =
            'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')""")).all():
        conn.execute(text(f"ALTER FUNCTION {signature} OWNER TO {OWNER}"))
    conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {WEB}, {READ}"))
    conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {WEB}"))
    conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {WEB}"))
    for table, privileges in WEB_WRITES.items():
        conn.execute(text(f"GRANT {privileges} ON {table} TO {WEB}"))
    for table, columns in WEB_COLUMN_WRITES.items():
        conn.execute(text(f"GRANT UPDATE ({', '.join(columns)}) ON {table} TO {WEB}"))
    for (view,) in conn.execute(text(
            "SELECT quote_ident(viewname) FROM pg_views WHERE schemaname = 'public' AND viewname LIKE 'layer\\_%'")):
        conn.execute(text(f"GRANT SELECT ON {view} TO {READ}"))
    conn.execute(text(f"GRANT SELECT ON spatial_ref_sys TO {READ}"))


@dataclass(frozen=True)
class ServingUrls:
    """The server's connections: the planning API's, pygeoapi's and the job workers'."""

    web: str
    read: str
    worker: str


def serving_urls(settings: Settings, admin_url: str) -> ServingUrls:
    """One URL per role (see the module's docstring); a RoleError when that cannot be done."""
    explicit = (settings.web_database_url, settings.read_database_url, settings.worker_database_url)
    if all(explicit):
        urls = ServingUrls(*(_driver(u) for u in explicit))
    else:
        derived = _derived(settings, admin_url)
        urls = ServingUrls(*(_driver(u) if u else d for u, d in zip(explicit, (derived.web, derived.read,
                                                                                 derived.worker))))
    for name, url in (("web", urls.web), ("read", urls.read), ("worker", urls.worker)):
        if _is_superuser(url):
            raise RoleError(f"the {name} connection's role is a superuser; the server never runs as one: give "
                            f"GIS_SERVICE_{name.upper()}_DATABASE_URL a role of its own, or let `gis-service "
                            "serve` derive one from the migrations' roles (gis-service db upgrade)")
    return urls


def _derived(settings: Settings, admin_url: str) -> ServingUrls:
    engine = create_engine(admin_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            who = conn.execute(text("SELECT rolname, rolsuper, rolcreaterole FROM pg_roles "
                                    "WHERE rolname = current_user")).one()
            present = set(conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:r)"),
                                       {"r": list(ROLES)}).scalars())
            if who.rolname in ROLES:  # given one of our roles: it serves as it is
                return ServingUrls(admin_url, admin_url, admin_url)
            if present != set(ROLES):
                raise RoleError(f"the database has no roles {', '.join(sorted(set(ROLES) - present))}; run "
                                "`gis-service db upgrade` (migration 0011 creates them)")
            if not (who.rolsuper or who.rolcreaterole):
                raise RoleError(f"role {who.rolname} may not give the server's roles a login (it needs "
                                "CREATEROLE); set GIS_SERVICE_WEB_DATABASE_URL, GIS_SERVICE_READ_DATABASE_URL "
                                "and GIS_SERVICE_WORKER_DATABASE_URL instead")
            timeout = f"{int(round(settings.statement_timeout_s * 1000))}ms"
            for role in (WEB, READ):  # per role, so that no connection of theirs escapes it
                conn.execute(text(f"ALTER ROLE {role} SET statement_timeout = '{timeout}'"))
            # household points locate families: readable by the OGC role only when published
            conn.execute(text(f"GRANT SELECT ON household TO {READ}" if settings.publish_household_points
                              else f"REVOKE SELECT ON household FROM {READ}"))
            passwords = _passwords(settings, admin_url, conn)
    finally:
        engine.dispose()
    base = make_url(admin_url)
    url = {role: base.set(username=role, password=passwords[role]).render_as_string(hide_password=False)
           for role in ROLES}
    return ServingUrls(url[WEB], url[READ], url[OWNER])


def _passwords(settings: Settings, admin_url: str, conn: Connection) -> dict[str, str]:
    """The roles' passwords for this server (host and port), from ``db-roles.json`` when they
    still work, otherwise new ones (set with the administrator's connection and written back)."""
    path = Path(settings.data_dir) / "db-roles.json"
    url = make_url(admin_url)
    server = f"{url.host}:{url.port or 5432}"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = {}
    mine = dict(stored.get(server, {}))
    for role in ROLES:
        password = mine.get(role)
        if password and _logs_in(url.set(username=role, password=password).render_as_string(hide_password=False)):
            conn.execute(text(f"ALTER ROLE {role} LOGIN"))
            continue
        password = secrets.token_urlsafe(24)  # letters, digits, - and _: safe inside the literal
        conn.execute(text(f"ALTER ROLE {role} LOGIN PASSWORD '{password}'"))
        mine[role] = password
    stored[server] = mine
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(stored, fh)
    return mine


def _logs_in(url: str) -> bool:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect():
            return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


def _is_superuser(url: str) -> bool:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar())
    except OperationalError as exc:
        raise RoleError(f"cannot connect as {make_url(url).username}: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()


def _driver(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith(("postgresql://", "postgres://")) else url
