"""The managed cluster, the migrations (up and down) and the constraints of the data model."""

from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from gis_service.db import migrate
from gis_service.db.cluster import LocalCluster
from gis_service.db.migrate import include_object
from gis_service.db.models import Base

TABLES = set(Base.metadata.tables)


def _tables(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())


def test_cluster_is_private_reused_and_has_extensions(pg_cluster: LocalCluster):
    assert pg_cluster.is_running()
    assert pg_cluster.start() is False  # already running: reused
    with psycopg.connect(pg_cluster.url("postgres").replace("+psycopg", "")) as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()[0]
        auth = conn.execute("SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'").fetchone()[0]
    assert listen == "127.0.0.1"
    assert auth == 0  # password (scram) everywhere
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=pg_cluster.port, user="postgres", password="wrong",
                        dbname="postgres")


def test_migrations_up_down_up(db_url):
    engine = create_engine(db_url)
    assert TABLES <= _tables(engine)
    migrate.downgrade(db_url, "base")
    assert not (TABLES & _tables(engine))
    migrate.upgrade(db_url)
    assert TABLES <= _tables(engine)
    assert migrate.current_revision(db_url) == migrate.head_revision()
    migrate.upgrade(db_url)  # at the head already: nothing to do, and no error (`db upgrade` twice)
    assert migrate.current_revision(db_url) == migrate.head_revision()
    engine.dispose()


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_every_table_and_geometry_column_is_commented_and_indexed(engine):
    with engine.connect() as conn:
        uncommented = conn.execute(text(
            "SELECT relname FROM pg_class WHERE relname = ANY(:t) AND obj_description(oid) IS NULL"),
            {"t": list(TABLES - {"alembic_version"})}).scalars().all()
        geoms = conn.execute(text("SELECT f_table_name, f_geometry_column, srid FROM geometry_columns")).all()
        gist = set(conn.execute(text(
            "SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")).scalars())
        views = dict(conn.execute(text(
            "SELECT relname, obj_description(oid) FROM pg_class WHERE relkind = 'v' AND relname LIKE 'layer%'")).all())
    assert uncommented == []
    assert geoms and all(srid == 4326 for _, _, srid in geoms)  # the layer views keep the SRID
    assert {t for t, _, _ in geoms if t in TABLES} <= gist  # views use their tables' indexes
    assert len(views) >= 14 and all(views.values())


@pytest.mark.parametrize("sql", [
    # invalid geometry (bow-tie) is refused by the CHECK constraint
    "INSERT INTO admin_area (code, level, parent_code, name, geom, source) VALUES ('62', 'province', NULL, "
    "'x', ST_Multi(ST_GeomFromText('POLYGON((0 0,1 1,1 0,0 1,0 0))', 4326)), 's')",
    # wrong SRID
    "INSERT INTO admin_area (code, level, name, geom, source) VALUES ('62', 'province', 'x', "
    "ST_Multi(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 32749)), 's')",
    # code pattern does not match the level
    "INSERT INTO admin_area (code, level, name, source) VALUES ('62.07', 'province', 'x', 's')",
    # unknown ladder rung
    "INSERT INTO household (source, source_id, ladder_rung, geom) VALUES ('s', '1', 'bagus', "
    "ST_SetSRID(ST_MakePoint(112, -2), 4326))",
    # capacity without a unit
    "INSERT INTO facility (source, source_id, name, type, status, capacity, geom) VALUES ('s', '1', 'x', "
    "'iplt', 'existing', 20, ST_SetSRID(ST_MakePoint(112, -2), 4326))",
])
def test_constraints_refuse_bad_rows(engine, sql):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO data_source (name) VALUES ('s')"))
    with pytest.raises(Exception) as info, engine.begin() as conn:
        conn.execute(text(sql))
    assert isinstance(info.value, IntegrityError) or "SRID" in str(info.value) or "check" in str(info.value)
