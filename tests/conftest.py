"""Test fixtures: a throwaway PostGIS cluster started by the suite itself (never a mock), a
template database with the migrations applied, and a fresh database per test cloned from it."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import uvicorn
from sqlalchemy import create_engine, text

from gis_service.api.app import create_app
from gis_service.db import migrate
from gis_service.db.cluster import LocalCluster, free_port
from gis_service.db.models import Base
from tests.helpers import TEMPLATE, admin_connection, create_database, drop_database

CORPUS = Path(__file__).parent / "data" / "bad_inputs"  # scripts/make_bad_inputs.py
CORPUS_TEMPLATE = "gis_corpus_template"
SHARED_SERUYAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "seruyan"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under `make test` (GIS_SERVICE_NO_SKIPS=1) a skipped test is a failure: a missing client or
    the missing Seruyan test data must not pass unseen. Elsewhere a skip stays a skip."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("GIS_SERVICE_NO_SKIPS") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under make test, which counts a skip as a failure: {reason}"


@pytest.fixture(scope="session")
def pg_cluster():
    home = Path(tempfile.mkdtemp(prefix="gis-test-"))
    cluster = LocalCluster(home=home, port=free_port(), durable=False)
    cluster.start()
    cluster.ensure_database(TEMPLATE)
    migrate.upgrade(cluster.url(TEMPLATE))
    yield cluster
    cluster.destroy()
    shutil.rmtree(home, ignore_errors=True)



@pytest.fixture
def db_url(pg_cluster, monkeypatch):
    """A fresh migrated database for one test; every command in the test points at it."""
    name, url = create_database(pg_cluster)
    monkeypatch.setenv("GIS_SERVICE_DATABASE_URL", url)
    yield url
    drop_database(pg_cluster, name)


@pytest.fixture
def engine(db_url):
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


def snapshot(engine) -> dict[str, str]:
    """A fingerprint of every table: equal snapshots mean nothing was written."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.tables:
            out[table] = conn.execute(text(
                f"SELECT count(*) || ':' || COALESCE(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                f"FROM {table} t")).scalar()
    return out


# ---- small synthetic admin hierarchy inside the Seruyan bbox --------------------------------------

def _box(x0, y0, x1, y1):
    return shapely.MultiPolygon([shapely.box(x0, y0, x1, y1)])


@pytest.fixture
def admin_files(tmp_path) -> dict[str, Path]:
    """Regency 62.07, district 62.07.01, villages 62.07.01.2001 (west) and .2002 (east)."""
    reg = gpd.GeoDataFrame({"kode": ["62.07"], "nama": ["Kabupaten Uji"]},
                           geometry=[_box(112.0, -3.0, 112.4, -2.6)], crs="EPSG:4326")
    dis = gpd.GeoDataFrame({"kode": ["62.07.01"], "nama": ["Kecamatan Uji"], "kode_bps": ["6208010"]},
                           geometry=[_box(112.0, -3.0, 112.4, -2.6)], crs="EPSG:4326")
    vil = gpd.GeoDataFrame({"kode": ["62.07.01.2001", "62.07.01.2002"], "nama": ["Desa Barat", "Desa Timur"],
                            "jenis": ["desa", "kelurahan"], "kode_bps": ["6208010001", "6208010002"]},
                           geometry=[_box(112.0, -3.0, 112.2, -2.6), _box(112.2, -3.0, 112.4, -2.6)],
                           crs="EPSG:4326")
    paths = {}
    for name, frame in (("regency", reg), ("district", dis), ("village", vil)):
        paths[name] = tmp_path / f"{name}.geojson"
        frame.to_file(paths[name], driver="GeoJSON")
    return paths


@pytest.fixture
def admin_loaded(engine, admin_files):
    from gis_service.ingest.importer import import_file

    for key in ("regency", "district", "village"):
        import_file(engine, "admin", admin_files[key])
    return engine


@pytest.fixture
def seruyan_dir() -> Path:
    path = Path(os.environ.get("GIS_SERVICE_SERUYAN_DATA", SHARED_SERUYAN))
    if not (path / "desa.geojson").exists():
        pytest.skip(f"real Seruyan boundaries not found in {path}")
    return path


@pytest.fixture
def published_region(admin_loaded, tmp_path, monkeypatch):
    """What the API tests serve: the test villages, 300 households in the west one, a pilot depot
    and one stored coverage run; the API's generated files go to a temporary data folder."""
    from gis_service.analysis.coverage import CoverageOptions, run_coverage
    from gis_service.analysis.publishing import publish
    from gis_service.ingest.importer import import_file
    from tests.helpers import households, write_csv

    monkeypatch.setenv("GIS_SERVICE_DATA_DIR", str(tmp_path / "data"))
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(300)))
    depot = [{"id": "D1", "nama": "Depot", "jenis": "depot", "status": "pilot", "lon": "112.10", "lat": "-2.90"}]
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", depot))
    run = run_coverage(admin_loaded, CoverageOptions(method="buffer", distance_m=3000)).run_id
    with admin_loaded.begin() as conn:  # what the default layers show
        publish(conn, "coverage", run, by="tests")
    return admin_loaded


@pytest.fixture
def server(published_region):
    """The whole application (`create_app`) served by uvicorn in a thread on a free loopback port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    uv = uvicorn.Server(uvicorn.Config(create_app(base_url=base), host="127.0.0.1", port=port,
                                       log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "the server did not start"
    yield base + "/ogc"
    uv.should_exit = True
    thread.join(timeout=10)


# ---- the import corpus's base: real Seruyan villages (tests/data/bad_inputs/base) ------------------

@pytest.fixture(scope="session")
def corpus_template(pg_cluster):
    """A template database holding the corpus's base/: the regency, two districts, ten villages and
    two facilities (an IPLT and the depot feeding it)."""
    from gis_service.ingest.importer import import_file

    with admin_connection(pg_cluster) as conn:
        conn.execute(f'CREATE DATABASE "{CORPUS_TEMPLATE}" TEMPLATE "{TEMPLATE}"')
    engine = create_engine(pg_cluster.url(CORPUS_TEMPLATE))
    kinds = {"1": "admin", "2": "admin", "3": "admin", "4": "facilities"}
    for path in sorted((CORPUS / "base").iterdir()):
        report = import_file(engine, kinds[path.name[0]], path)
        assert report.written and not report.rejected, report.lines()
    engine.dispose()
    return CORPUS_TEMPLATE


@pytest.fixture
def corpus_db(pg_cluster, corpus_template, monkeypatch):
    """A fresh database with the corpus's base for one test; the command line points at it."""
    name, url = create_database(pg_cluster, template=corpus_template, prefix="c")
    monkeypatch.setenv("GIS_SERVICE_DATABASE_URL", url)
    engine = create_engine(url)
    yield engine
    engine.dispose()
    drop_database(pg_cluster, name)
