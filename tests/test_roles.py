"""Least privilege on a real PostGIS: the migrations create an owner, a web and a read-only role;
the server's connections use them, never a superuser; each can do what its part of the service
needs and nothing more (the web role writes only the planning tables, the read role reads only the
published layer views)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from gis_service.db.roles import OWNER, READ, WEB, RoleError, serving_urls
from gis_service.settings import Settings


def _can(url: str, sql: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
        return True
    except ProgrammingError as exc:
        assert "permission denied" in str(exc), exc
        return False
    finally:
        engine.dispose()


def _one(url: str, sql: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_the_migrations_create_roles_that_own_and_may_nothing_more(engine):
    with engine.connect() as conn:
        roles = dict(conn.execute(text("SELECT rolname, rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles "
                                       "WHERE rolname = ANY(:r)"), {"r": [OWNER, WEB, READ]}).all())
        owners = set(conn.execute(text(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') AND NOT EXISTS (SELECT 1 FROM pg_depend d "
            "WHERE d.objid = c.oid AND d.deptype = 'e')")).scalars())
    assert roles == {OWNER: False, WEB: False, READ: False}
    assert owners == {OWNER}  # every table and view of ours, alembic_version included


def test_the_server_connects_as_each_role_with_only_its_privileges(published_region, db_url, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", statement_timeout_s=30)
    urls = serving_urls(settings, db_url)
    assert {_one(u, "SELECT current_user") for u in (urls.web, urls.read, urls.worker)} == {WEB, READ, OWNER}
    assert not any(_one(u, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                   for u in (urls.web, urls.read, urls.worker))
    assert _one(urls.web, "SHOW statement_timeout") == _one(urls.read, "SHOW statement_timeout") == "30s"
    assert _one(urls.worker, "SHOW statement_timeout") == "0"  # analyses run as long as they need
    stored = Path(settings.data_dir) / "db-roles.json"
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    # the web role: reads everything, writes the planning tables and the publishing columns only
    assert _can(urls.web, "SELECT count(*) FROM household") and _can(urls.web, "SELECT count(*) FROM api_user")
    assert _can(urls.web, "UPDATE facility SET name = name")
    assert _can(urls.web, "INSERT INTO scenario (name) VALUES ('roles test')")
    assert _can(urls.web, "UPDATE coverage_run SET published_by = published_by")
    assert not _can(urls.web, "UPDATE coverage_run SET summary = summary")
    assert not _can(urls.web, "DELETE FROM coverage_run")
    assert not _can(urls.web, "UPDATE household SET geom = geom")
    assert not _can(urls.web, "INSERT INTO api_user (name, role, key_hash, key_prefix) VALUES ('x', 'admin', 'h', 'p')")
    assert not _can(urls.web, "CREATE TABLE public.intruder (id int)")
    # the read role: the published layer views, nothing else
    assert _can(urls.read, "SELECT count(*) FROM layer_village")
    assert _can(urls.read, "SELECT count(*) FROM layer_coverage_village")
    for table in ("household", "api_user", "job", "facility_edit", "coverage_household"):
        assert not _can(urls.read, f"SELECT count(*) FROM {table}"), table
    assert not _can(urls.read, "UPDATE layer_village SET name = name")
    # the owner (job workers): writes runs, still no superuser powers
    assert _can(urls.worker, "UPDATE coverage_run SET summary = summary")
    assert not _can(urls.worker, "CREATE ROLE intruder")
    # household points readable by the read role only while they are published
    serving_urls(Settings(data_dir=tmp_path / "data", publish_household_points=True), db_url)
    assert _can(urls.read, "SELECT count(*) FROM household")
    again = serving_urls(settings, db_url)
    assert again == urls  # the stored passwords still work: kept, so two servers agree
    assert not _can(urls.read, "SELECT count(*) FROM household")


def test_a_superuser_connection_is_refused(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path, web_database_url=db_url, read_database_url=db_url,
                        worker_database_url=db_url)
    with pytest.raises(RoleError, match="the web connection's role is a superuser; the server never runs as one"):
        serving_urls(settings, db_url)


def test_roles_need_the_migration(pg_cluster, tmp_path):
    from gis_service.db import migrate

    pg_cluster.ensure_database("roles_old")
    url = pg_cluster.url("roles_old")
    migrate.upgrade(url, "0010")
    engine = create_engine(url)
    with engine.begin() as conn:  # a fresh cluster would not have them; this one does from the template
        present = conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = ANY(:r)"),
                               {"r": [OWNER, WEB, READ]}).scalar()
        owner = conn.execute(text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'facility'")).scalar()
    assert present == 3 and owner == "postgres"  # 0010: no grants, the admin owns the tables
    migrate.upgrade(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'facility'")).scalar() == OWNER
    migrate.downgrade(url, "0010")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'facility'")).scalar() == "postgres"
        assert not conn.execute(text(f"SELECT has_table_privilege('{READ}', 'layer_village', 'SELECT')")).scalar()
    engine.dispose()
