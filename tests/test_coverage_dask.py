"""Coverage on a Dask cluster (issue 7) gives the single-process answer: the same household is
served by the same facility, with the same nearest facilities and costs, and every village,
district and regency total, facility count, service area and gap is equal - on the demo regency
cut by district, and on a two-regency province whose regencies overlap, cut by regency and by
district. A run cut short resumes from the units it finished; a failing unit is named."""

from __future__ import annotations

import json
import os
import resource
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from gis_service.analysis import coverage as coverage_module
from gis_service.analysis.allocation import allocate, facility_order
from gis_service.analysis.ladder import village_counts
from gis_service.analysis.coverage import CoverageOptions, buffer_pairs, run_coverage
from gis_service.analysis.network import NetworkParams
from gis_service.analysis.parameters import capacity_households, load_parameter_values
from gis_service.cli import app
from gis_service.demo.load import load_demo
from gis_service.distributed.dataset import building_units, read_edges, read_facilities
from gis_service.distributed.engine import WORKER_ENVIRON, ClusterOptions, local_cluster, run_coverage_dask
from gis_service.distributed.generate import generate_national
from gis_service.distributed.tasks import Margins
from gis_service.settings import get_settings
from tests.helpers import create_database, drop_database
from tests.helpers import load_two_regencies

REPO = Path(__file__).resolve().parents[1]
TABLES = {
    "coverage_household": "household_id",
    "coverage_area": "area_code, level, service",
    "coverage_facility": "facility_id",
    "coverage_gap": "area_code, target_id",
}


def _database(pg_cluster, env: dict, load):
    """A database loaded under ``env`` (the settings its tests run with, set per test: a module
    fixture must not leave them set for the next module's tests)."""
    name, env["GIS_SERVICE_DATABASE_URL"] = create_database(pg_cluster, prefix="d")
    engine = create_engine(env["GIS_SERVICE_DATABASE_URL"])
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        load(engine)
    return engine, name


def _drop(pg_cluster, engine, name):
    engine.dispose()
    drop_database(pg_cluster, name)


def _use(env: dict, monkeypatch) -> None:
    for key in ("GIS_SERVICE_CONFIG_DIR", "GIS_SERVICE_REGION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def district_db(pg_cluster, tmp_path_factory):
    env = {"GIS_SERVICE_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    engine, name = _database(pg_cluster, env, lambda e: load_demo(e, scale=0.5))
    yield engine, env
    _drop(pg_cluster, engine, name)


@pytest.fixture
def district(district_db, monkeypatch):
    engine, env = district_db
    _use(env, monkeypatch)
    return engine


@pytest.fixture(scope="module")
def province_db(pg_cluster, tmp_path_factory):
    config = tmp_path_factory.mktemp("config")
    shutil.copytree(REPO / "config", config, dirs_exist_ok=True)
    (config / "regions" / "kalteng-test.yml").write_text(
        'code: "62"\nname: Provinsi Kalimantan Tengah (two generated regencies)\nmetric_crs: "EPSG:32749"\n'
        "bbox: [111.4, -3.6, 113.2, -0.6]\nbbox_margin_deg: 0.25\n", encoding="utf-8")
    env = {"GIS_SERVICE_CONFIG_DIR": str(config), "GIS_SERVICE_REGION": "kalteng-test",
           "GIS_SERVICE_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    engine, name = _database(pg_cluster, env, lambda e: load_two_regencies(e, scale=0.3, shift_m=5_000))
    yield engine, env
    _drop(pg_cluster, engine, name)


@pytest.fixture
def province(province_db, monkeypatch):
    engine, env = province_db
    _use(env, monkeypatch)
    return engine


def _rows(engine, table: str, run_id: int) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(text(f"SELECT * FROM {table} WHERE run_id = :r ORDER BY {TABLES[table]}"),
                            conn, params={"r": run_id})
    return frame.drop(columns=[c for c in ("run_id", "id") if c in frame]).astype(str)


def assert_same_run(engine, single: int, dask: int) -> None:
    for table in TABLES:
        a, b = _rows(engine, table, single), _rows(engine, table, dask)
        assert len(a) == len(b) > 0, table
        pd.testing.assert_frame_equal(a, b, obj=table)
    with engine.connect() as conn:
        areas = conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE ST_Equals(a.geom, b.geom)) FROM coverage_service_area a "
            "JOIN coverage_service_area b USING (facility_id, service, threshold) "
            "WHERE a.run_id = :a AND b.run_id = :b"), {"a": single, "b": dask}).one()
        drawn = conn.execute(text("SELECT count(*) FROM coverage_service_area WHERE run_id = :a"),
                             {"a": single}).scalar()
    assert areas[0] == areas[1] == drawn > 0


@pytest.mark.parametrize("method", ["network", "buffer"])
def test_district_run_on_a_cluster_equals_one_process(district, method):
    options = CoverageOptions(method=method, distance_m=3000)
    single = run_coverage(district, options)
    dask = run_coverage_dask(district, options, cluster=ClusterOptions(workers=2))
    assert dask.summary["engine"]["partitions"] >= 10 and dask.summary["engine"]["level"] == "district"
    assert {k: v for k, v in dask.summary.items() if k != "engine"} == single.summary
    assert_same_run(district, single.run_id, dask.run_id)


def test_drawn_service_areas_on_a_cluster_equal_one_process(district):
    """--method polygon: a unit meets the facilities whose drawn area's box meets its own, so a
    household is served inside the area as in one process, with the k nearest by distance."""
    with district.begin() as conn:  # the depot's area reaches a far district too; the toilets' are small
        conn.execute(text(
            "INSERT INTO service_area (source, source_id, facility_id, geom) SELECT a.source, 'test-' || f.id, f.id, "
            "ST_Multi(ST_Transform(CASE WHEN f.type = 'mck' THEN ST_Buffer(ST_Transform(f.geom, 32749), 2000) "
            "ELSE ST_Union(ST_Buffer(ST_Transform(f.geom, 32749), 8000), ST_Buffer(ST_Transform(ST_Centroid(d.geom), "
            "32749), 15000)) END, 4326)) FROM facility f, (SELECT source FROM service_area LIMIT 1) a, "
            "(SELECT geom FROM admin_area WHERE level = 'district' ORDER BY code DESC LIMIT 1) d "
            "WHERE f.type IN ('desludging_depot', 'mck') AND f.status IN ('existing', 'pilot')"))
    try:
        options = CoverageOptions(method="polygon", nearest_k=2)
        single = run_coverage(district, options)
        dask = run_coverage_dask(district, options, cluster=ClusterOptions(workers=2))
    finally:
        with district.begin() as conn:
            conn.execute(text("DELETE FROM service_area WHERE source_id LIKE 'test-%'"))
    assert single.summary["served_lltt_households"] > 0 and "lltt_bands" not in single.summary
    assert dask.summary["engine"]["units_counted_in_one_pass"] < dask.summary["engine"]["partitions"]
    assert {k: v for k, v in dask.summary.items() if k != "engine"} == single.summary
    assert_same_run(district, single.run_id, dask.run_id)


@pytest.mark.parametrize("level", ["regency", "district"])
def test_two_regency_run_on_a_cluster_equals_one_process(province, level):
    options = CoverageOptions(method="network", thresholds_min=[30, 60])
    single = run_coverage(province, options)
    dask = run_coverage_dask(province, options, cluster=ClusterOptions(workers=2, level=level))
    with province.connect() as conn:
        across = conn.execute(text(
            "SELECT count(*) FROM coverage_household c JOIN household h ON h.id = c.household_id "
            "JOIN facility f ON f.id = c.lltt_facility_id WHERE c.run_id = :r "
            "AND h.source <> f.source"), {"r": single.run_id}).scalar()
    assert across > 0  # households served from the other regency: the margin matters
    assert {k: v for k, v in dask.summary.items() if k != "engine"} == single.summary
    assert_same_run(province, single.run_id, dask.run_id)


def _population_raster(path: Path, engine) -> Path:
    """People per cell of 0.01 degrees over the regency's villages and a margin around them (some
    cells outside every village), WorldPop-like: half the cells empty, fractional counts."""
    import rasterio
    from rasterio.transform import from_origin

    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                           "(SELECT ST_Extent(geom) AS e FROM admin_area WHERE level = 'village') q")).one()
    cell = 0.01
    width, height = int((x1 - x0) / cell) + 6, int((y1 - y0) / cell) + 6
    rng = np.random.default_rng(11)
    people = np.where(rng.random((height, width)) < 0.5, 0.0, rng.gamma(1.5, 12.0, (height, width)))
    people[rng.random((height, width)) < 0.02] = -1  # nodata
    with rasterio.open(path, "w", driver="GTiff", height=height, width=width, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(x0 - 3 * cell, y1 + 3 * cell, cell, cell),
                       nodata=-1) as dst:
        dst.write(people.astype("float32"), 1)
    return path


@pytest.mark.parametrize("method", ["buffer", "network"])
def test_raster_demand_on_a_cluster_equals_one_process(district, tmp_path, method):
    """A population raster cut by district: every demand point (its households, people and those
    served), every area and facility total and the summary with its note on the cells left out
    are those of one process; each worker reads only the cells around its villages."""
    raster = _population_raster(tmp_path / "pop.tif", district)
    options = CoverageOptions(method=method, distance_m=3000, demand="raster", raster=raster,
                              service_areas=False)
    single = run_coverage(district, options)
    dask = run_coverage_dask(district, options, cluster=ClusterOptions(workers=2))
    assert dask.summary["engine"]["partitions"] >= 10
    assert "outside every stored village" in single.summary["demand"]["notes"][0]
    assert {k: v for k, v in dask.summary.items() if k != "engine"} == single.summary
    assert_same_points(district, single.run_id, dask.run_id)


@pytest.mark.parametrize("demand", ["settlements", "villages"])
def test_settlement_and_village_demand_on_a_cluster_equals_one_process(district, demand, tmp_path):
    """Settlement populations and village totals spread onto settlements, by district: the same
    demand points, totals and summary (notes included) as one process - with a settlement outside
    every village (its own unit, last, as one process orders its points) and a village total with
    nowhere to place it."""
    with district.begin() as conn:
        source = conn.execute(text("SELECT source FROM settlement LIMIT 1")).scalar()
        conn.execute(text("INSERT INTO settlement (source, source_id, name, population, geom) VALUES "
                          "(:s, 'outside-1', 'Outside', 900, ST_SetSRID(ST_MakePoint(112.0, -3.4), 4326))"),
                     {"s": source})
        unplaced = conn.execute(text("INSERT INTO admin_area (code, level, name, parent_code, source) "
                                     "SELECT parent_code || '.9999', level, 'No boundary', parent_code, source "
                                     "FROM admin_area WHERE level = 'village' ORDER BY code LIMIT 1 "
                                     "RETURNING code")).scalar()
        conn.execute(text("INSERT INTO admin_population (admin_code, year, population, households, source) "
                          "SELECT :c, year, 400, NULL, source FROM admin_population LIMIT 1"), {"c": unplaced})
    try:
        options = CoverageOptions(method="buffer", distance_m=3000, demand=demand, service_areas=False)
        single = run_coverage(district, options)
        dask = run_coverage_dask(district, options, cluster=ClusterOptions(workers=2))
        files = run_coverage_dask(district, options, cluster=ClusterOptions(workers=2, keep=True),
                                  output=tmp_path / "out")
    finally:
        with district.begin() as conn:
            conn.execute(text("DELETE FROM settlement WHERE source_id = 'outside-1'"))
            conn.execute(text("DELETE FROM admin_population WHERE admin_code = :c"), {"c": unplaced})
            conn.execute(text("DELETE FROM admin_area WHERE code = :c"), {"c": unplaced})
    if demand == "villages":
        assert "no settlement or boundary" in single.summary["demand"]["notes"][0]
    assert {k: v for k, v in dask.summary.items() if k != "engine"} == single.summary
    assert_same_points(district, single.run_id, dask.run_id)
    if demand == "settlements":
        assert dask.summary["engine"]["partitions"] == 11  # ten districts and the settlement outside them
    # the same points as files (one per unit), for runs too large to store
    assert files.run_id is None
    assert {k: v for k, v in files.summary.items() if k != "engine"} == single.summary
    written = pd.concat([gpd.read_parquet(f) for f in sorted((tmp_path / "out" / "demand_points").glob("*.parquet"))],
                        ignore_index=True)
    with district.connect() as conn:
        stored = gpd.read_postgis(text("SELECT * FROM coverage_demand_point WHERE run_id = :r ORDER BY point_id"),
                                  conn, geom_col="geom", params={"r": dask.run_id})
    assert written["point_id"].tolist() == stored["point_id"].tolist()
    assert written["any_served"].tolist() == stored["any_served"].tolist()
    assert written.geometry.geom_equals_exact(stored.geometry, 1e-9).all()
    # its kept units are modelled, not household points: a --dataset run refuses them
    work = Path(files.summary["engine"]["work_dir"])
    with pytest.raises(ValueError, match=f"units of {demand} demand"):
        run_coverage_dask(None, CoverageOptions(method="buffer"), dataset=work / "dataset", output=tmp_path / "o2")
    shutil.rmtree(work)
    with pytest.raises(ValueError, match="unknown demand 'census'"):
        run_coverage_dask(district, CoverageOptions(demand="census"))


def assert_same_points(engine, single: int, dask: int) -> None:
    for table in ("coverage_area", "coverage_facility", "coverage_gap"):
        pd.testing.assert_frame_equal(_rows(engine, table, single), _rows(engine, table, dask), obj=table)
    with engine.connect() as conn:
        points = [pd.read_sql(text("SELECT point_id, origin, origin_ref, village_code, households, people, "
                                   "lltt_served, offsite_served, mck_served, any_served, ST_AsText(geom) AS geom "
                                   "FROM coverage_demand_point WHERE run_id = :r ORDER BY point_id"),
                              conn, params={"r": r}) for r in (single, dask)]
        demand = conn.execute(text("SELECT demand FROM coverage_run WHERE id IN (:a, :b)"),
                              {"a": single, "b": dask}).scalars().all()
        stored = conn.execute(text("SELECT count(*) FROM coverage_household WHERE run_id = :r"),
                              {"r": dask}).scalar()
    assert len(points[0]) > 100 and points[0]["lltt_served"].sum() > 0
    pd.testing.assert_frame_equal(points[0], points[1])
    assert demand[0] == demand[1] and stored == 0


def test_cli_resumes_a_run_and_names_a_failing_unit(district):
    runner = CliRunner()
    args = ["coverage", "run", "--engine", "dask", "--workers", "1", "--method", "buffer"]
    first = runner.invoke(app, [*args, "--keep-work"])
    assert first.exit_code == 0, first.output
    assert "engine: dask, 1 workers" in first.output
    work = Path(first.output.split("work folder kept: ")[1].split()[0])
    unit = sorted((work / "dataset" / "households").glob("*.parquet"))[2]
    name = unit.stem
    saved = unit.read_bytes()
    others = {p: p.stat().st_mtime_ns for p in (work / "results").glob("*.parquet") if p.stem != name}
    assert len(others) >= 9
    damaged = pa.table({"junk": [1]}).replace_schema_metadata(pq.read_schema(unit).metadata)
    pq.write_table(damaged, unit)  # its metadata reads, its households do not
    for old in [work / "reach" / f"{name}.parquet", work / "reach" / f"{name}.json",
                work / "results" / f"{name}.parquet", work / "counts" / f"{name}.json"]:
        old.unlink(missing_ok=True)

    broken = runner.invoke(app, [*args, "--resume", str(work)])
    assert broken.exit_code == 1
    message = " ".join(broken.output.split())
    assert f"reach of {name} failed on a worker" in message and f"--resume {work}" in message

    unit.write_bytes(saved)
    resumed = runner.invoke(app, [*args, "--resume", str(work), "--keep-work"])
    assert resumed.exit_code == 0, resumed.output
    assert all(p.stat().st_mtime_ns == t for p, t in others.items())  # finished units were not redone
    with district.connect() as conn:
        first_id, resumed_id = conn.execute(text("SELECT id FROM coverage_run ORDER BY id DESC LIMIT 2")).scalars()
    assert_same_run(district, resumed_id, first_id)

    other = runner.invoke(app, ["coverage", "run", "--engine", "dask", "--method", "buffer", "--distance", "100",
                                "--resume", str(work)])
    assert other.exit_code == 1 and "other options" in " ".join(other.output.split())
    done = runner.invoke(app, [*args, "--resume", str(work)])
    assert done.exit_code == 0 and not work.exists()  # a finished run leaves no work folder


def test_footprint_dataset_run_equals_one_allocation_of_the_whole_region(tmp_path, monkeypatch):
    """A generated province of footprints, run from GeoParquet to GeoParquet, against the same
    allocation done on the whole region at once, with centroids and villages found independently
    (shapely, geopandas)."""
    monkeypatch.setenv("GIS_SERVICE_DATA_DIR", str(tmp_path / "data"))
    data = generate_national(tmp_path / "nat", buildings=30_000, regencies=4, facilities=40, seed=7)
    out = tmp_path / "out"
    options = CoverageOptions(method="buffer", distance_m=1500, nearest_k=2)
    result = run_coverage_dask(None, options, cluster=ClusterOptions(workers=2), dataset=data.root, output=out)
    assert result.run_id is None and result.summary["households"] == 30_000
    phases = result.summary["engine"]["reach_task_seconds"]  # worker time of the reach tasks, per phase
    assert {"households", "reach", "allocation", "counts"} <= set(phases) <= {
        "households", "reach", "allocation", "handoff", "counts"} and min(phases.values()) > 0

    buildings = pd.concat([gpd.read_parquet(data.buildings_path(p)) for p in data.partitions], ignore_index=True)
    villages = gpd.read_parquet(data.villages_path)
    centroids = gpd.GeoDataFrame({"id": buildings["id"]}, geometry=shapely.centroid(buildings.geometry.to_numpy()),
                                 crs=buildings.crs)
    in_village = centroids.sjoin(villages, predicate="within").groupby("code").size()
    areas = pd.read_parquet(out / "areas.parquet")
    counted = areas[(areas.level == "village") & (areas.service == "all")].set_index("area_code")["households"]
    assert counted.sort_index().equals(in_village.sort_index().rename("households"))

    hh_xy = shapely.get_coordinates(centroids.to_crs(data.metric_crs).geometry.to_numpy())
    fac = read_facilities(data.facilities_path)
    with_params = load_parameter_values(None, parameter_set_id=None, config_dir=REPO / "config")
    capacity = np.array([capacity_households(c, u, with_params) for c, u in zip(fac.capacity, fac.capacity_unit)])
    pairs = buffer_pairs(fac[["x", "y"]].to_numpy(), hh_xy, 1500)
    order = facility_order(len(fac), how="priority", priority=np.zeros(len(fac)))
    whole = allocate(*pairs, n_facilities=len(fac), n_households=len(hh_xy), capacity=capacity, order=order,
                     limit=1500)
    expected = pd.Series(np.where(whole.served_by >= 0, fac["id"].to_numpy()[whole.served_by], -1),
                         index=centroids["id"].to_numpy()).sort_index()
    rows = gpd.read_parquet(out / "households").set_index("household_id").sort_index()
    assert rows.crs == "OGC:CRS84" and len(rows) == 30_000  # EPSG:4326 in lon, lat order
    assert rows["lltt_facility_id"].fillna(-1).astype(int).equals(expected.rename("lltt_facility_id"))
    assert 0 < (expected >= 0).sum() < 30_000  # capacity binds somewhere, reach is partial
    served = pd.read_parquet(out / "facilities.parquet")
    assert (served.served_households <= served.capacity_households).all()
    assert len(gpd.read_parquet(out / "service_areas.parquet")) == 40
    assert json.loads((out / "run.json").read_text())["summary"]["served_lltt_households"] == (expected >= 0).sum()


def _faults_of_temporary_arrays() -> tuple[dict, int]:
    """Page faults of five 8 MiB arrays made and freed in turn, after one made and freed before."""
    np.ones(1 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        np.ones(1 << 20)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    return {k: os.environ.get(k) for k in WORKER_ENVIRON}, faults


def test_local_workers_reuse_freed_memory_instead_of_faulting_it_in_again():
    """Dask's default allocator setting maps every array above 128 KiB fresh, so each is faulted
    in again (2,580 faults for the five arrays, measured). Local workers start with
    ``WORKER_ENVIRON`` and reuse the heap."""
    from dask.distributed import Client

    mine = {k: os.environ.get(k) for k in WORKER_ENVIRON}
    os.environ["MALLOC_TRIM_THRESHOLD_"] = "65536"  # as a cluster made with dask's defaults leaves it
    try:
        with local_cluster(1) as cluster, Client(cluster) as client:
            [(environ, faults)] = client.run(_faults_of_temporary_arrays).values()
        assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process's environment is left as it was
        assert os.environ.get("MALLOC_MMAP_THRESHOLD_") == mine["MALLOC_MMAP_THRESHOLD_"]
    finally:
        for k, v in mine.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert environ == WORKER_ENVIRON
    assert faults < 500


def test_a_level_at_or_above_the_region_is_refused(district):
    with pytest.raises(ValueError, match="cannot be cut by regency: use district"):
        run_coverage_dask(district, CoverageOptions(), cluster=ClusterOptions(level="regency"))


def test_margins_reach_as_far_as_the_fastest_edge_goes():
    params = load_parameter_values(None, parameter_set_id=None, config_dir=REPO / "config")
    network = NetworkParams.from_config(get_settings().network_config())
    options = CoverageOptions(method="network", thresholds_min=[30, 60])
    table = Margins.of(options, params, network, ["lltt"])
    fast = Margins.of(options, params, network, ["lltt"], edge_kmh=200)
    assert fast.reach_m["lltt"] >= 60 / 60 * 200_000 > table.reach_m["lltt"]
    assert fast.clip_m > fast.reach_m["lltt"]
    assert Margins.of(CoverageOptions(method="buffer", distance_m=1500), params, network, ["lltt"]).reach_m["lltt"] \
        == pytest.approx(1500, abs=2)


def test_footprints_become_households_in_id_order(tmp_path, monkeypatch):
    from gis_service.distributed import dataset

    monkeypatch.setattr(dataset, "FOOTPRINT_BATCH", 300)  # read in 7 batches, the last one short
    data = generate_national(tmp_path / "nat", buildings=2_000, regencies=1, facilities=3, seed=3)
    unit = data.partitions[0]
    footprints = gpd.read_parquet(data.buildings_path(unit))
    shuffled = footprints.sample(frac=1, random_state=1)
    shuffled.to_parquet(data.buildings_path(unit), geometry_encoding="geoarrow")
    params = load_parameter_values(None, parameter_set_id=None, config_dir=REPO / "config")
    units = building_units(data, unit, params)
    assert units["id"].is_monotonic_increasing and units["id"].tolist() == sorted(footprints["id"])
    centroid = shapely.centroid(footprints.set_index("id").geometry.loc[units["id"].iat[7]])
    assert (units["lon"].iat[7], units["lat"].iat[7]) == pytest.approx((centroid.x, centroid.y), abs=1e-9)
    assert units["village_code"].notna().all()

    shuffled.to_parquet(data.buildings_path(unit))  # WKB, as most published footprints are
    from_wkb = building_units(data, unit, params)
    assert from_wkb["id"].equals(units["id"]) and np.allclose(from_wkb[["x", "y"]], units[["x", "y"]], atol=1e-6)
    assert from_wkb["village_code"].equals(units["village_code"])

    multi = shuffled.copy()  # one multipolygon makes a GeoArrow multipolygon column: geopandas decodes it
    multi.iloc[0, multi.columns.get_loc("geometry")] = shapely.MultiPolygon([multi.geometry.iloc[0]])
    multi.to_parquet(data.buildings_path(unit), geometry_encoding="geoarrow")
    from_multi = building_units(data, unit, params)
    assert from_multi["id"].equals(units["id"]) and np.allclose(from_multi[["lon", "lat"]], units[["lon", "lat"]],
                                                                 atol=1e-9)

    villages = gpd.read_parquet(data.villages_path)
    villages.assign(code="99." + villages["code"]).to_parquet(data.villages_path, geometry_encoding="geoarrow")
    outside = building_units(data, unit, params)  # no village of this unit: every household outside them
    assert outside["village_code"].isna().all() and len(outside) == len(units)
    counted = village_counts(outside, {"lltt": np.zeros(len(outside), bool)}, outside["rung"].array)
    assert counted.index.tolist() == ["unassigned"] and counted["households"].tolist() == [len(units)]

    spiked = villages.copy()  # an invalid outline is repaired as the importer would, when that is safe
    x0, y0, x1, y1 = spiked.geometry.iloc[0].bounds
    xm, d = (x0 + x1) / 2, (y1 - y0) / 10
    spiked.iloc[0, spiked.columns.get_loc("geometry")] = shapely.Polygon(
        [(x0, y0), (x1, y0), (x1, y1), (xm, y1), (xm, y1 + d), (xm, y1), (x0, y1)])  # a spike of no width
    assert not spiked.geometry.iloc[0].is_valid
    spiked.to_parquet(data.villages_path)
    repaired = building_units(data, unit, params)
    assert repaired["village_code"].astype(object).equals(units["village_code"].astype(object))
    overlapping = villages.copy()  # ... and stops the run, naming the village, when it is not
    overlapping.iloc[0, overlapping.columns.get_loc("geometry")] = shapely.MultiPolygon(
        [shapely.box(x0, y0, x1, y1), shapely.box(x0 + (x1 - x0) / 4, y0 + (y1 - y0) / 4, x1, y1)])
    overlapping.to_parquet(data.villages_path)
    with pytest.raises(ValueError, match=f"village {overlapping['code'].iloc[0]} has an invalid outline"):
        building_units(data, unit, params)
    villages.to_parquet(data.villages_path)

    pd.concat([shuffled, shuffled.head(1)]).to_parquet(data.buildings_path(unit), geometry_encoding="geoarrow")
    with pytest.raises(ValueError, match="footprint ids repeat"):
        building_units(data, unit, params)


def test_results_linked_into_the_output_stay_when_the_work_folder_goes(tmp_path):
    from gis_service.distributed.storage import _link_or_copy

    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    (work / "62.01.parquet").write_bytes(b"results")
    (out / "62.01.parquet").write_bytes(b"an older run")
    _link_or_copy(work / "62.01.parquet", out / "62.01.parquet")
    _link_or_copy(work / "62.01.parquet", work / "62.01.parquet")  # the same file: left as it is
    assert (work / "62.01.parquet").read_bytes() == b"results"
    shutil.rmtree(work)
    assert (out / "62.01.parquet").read_bytes() == b"results"


def test_footprint_dataset_with_roads_runs_on_the_network_as_one_process(tmp_path, monkeypatch):
    """Travel time from GeoParquet: the units' clipped networks give the whole network's answer
    (the single engine's reach and allocation on the whole region at once)."""
    monkeypatch.setenv("GIS_SERVICE_DATA_DIR", str(tmp_path / "data"))
    data = generate_national(tmp_path / "nat", buildings=20_000, regencies=4, facilities=30, seed=11,
                             road_spacing_m=2000)
    options = CoverageOptions(method="network", thresholds_min=[15, 30], nearest_k=2, service_areas=False)
    out = tmp_path / "out"
    run_coverage_dask(None, options, cluster=ClusterOptions(workers=2), dataset=data.root, output=out)

    params = load_parameter_values(None, parameter_set_id=None, config_dir=REPO / "config")
    units = pd.concat([building_units(data, p, params) for p in data.partitions], ignore_index=True)
    edges = read_edges(data.edges_path, [-1e9, -1e9, 1e9, 1e9], data.metric_crs)
    fac = read_facilities(data.facilities_path)
    network = NetworkParams.from_config(get_settings().network_config())
    pairs, limit = coverage_module._reach("lltt", fac, units[["x", "y"]].to_numpy(), options, params, edges, {},
                                          network, {})
    capacity = np.array([capacity_households(c, u, params) for c, u in zip(fac.capacity, fac.capacity_unit)])
    whole = allocate(*pairs, n_facilities=len(fac), n_households=len(units), capacity=capacity,
                     order=facility_order(len(fac), how="priority", priority=np.zeros(len(fac))), limit=limit)
    rows = gpd.read_parquet(out / "households").set_index("household_id").loc[units["id"]]
    fid = fac["id"].to_numpy()
    assert rows["lltt_facility_id"].fillna(-1).astype(int).tolist() == \
        np.where(whole.served_by >= 0, fid[whole.served_by], -1).tolist()
    assert np.allclose(rows["lltt_cost"].fillna(-1), np.where(np.isfinite(whole.nearest_cost), whole.nearest_cost, -1))
    assert 0 < (whole.served_by >= 0).sum() < len(units)
