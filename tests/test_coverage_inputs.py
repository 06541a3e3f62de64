"""Coverage inputs and outputs beyond household points and radii, on real PostGIS: service areas drawn by
planners (--method polygon), depots sharing their IPLT's capacity, the k nearest facilities per
household, rungs derived from toilet type and disposal (the urban/rural pit rule), and demand from
settlements, village totals and a population raster."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from sqlalchemy import text
from typer.testing import CliRunner

from gis_service.analysis.coverage import CoverageOptions, buffer_pairs, run_coverage
from gis_service.analysis.export import export_run
from gis_service.cli import app
from gis_service.ingest.importer import ImportRejected, import_file
from tests.helpers import households, write_csv

DEPOT = {"id": "D1", "nama": "Depot", "jenis": "depot", "status": "pilot", "lon": "112.10", "lat": "-2.90"}


def _import_areas(engine, tmp_path, rows: list[tuple[str, shapely.Geometry]], name="areas.geojson"):
    frame = gpd.GeoDataFrame({"id": [f"A{i}" for i in range(len(rows))], "fasilitas": [r[0] for r in rows]},
                             geometry=[r[1] for r in rows], crs="EPSG:4326")
    frame.to_file(tmp_path / name, driver="GeoJSON")
    return import_file(engine, "service_areas", tmp_path / name)


def test_polygon_method_serves_exactly_the_households_inside_the_drawn_area(admin_loaded, tmp_path):
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(1000)))
    facilities = [{"id": "K1", "nama": "IPAL Uji", "jenis": "ipal komunal", "status": "existing",
                   "lon": "112.07", "lat": "-2.89"},
                  {"id": "K2", "nama": "IPAL Tanpa Area", "jenis": "ipal komunal", "status": "existing",
                   "lon": "112.09", "lat": "-2.89"}]
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", facilities))
    drawn = shapely.Polygon([(112.06, -2.895), (112.08, -2.895), (112.07, -2.88)])  # a triangle
    report = _import_areas(admin_loaded, tmp_path, [("K1", drawn)])
    assert report.inserted == 1
    result = run_coverage(admin_loaded, CoverageOptions(method="polygon", capacity=False))
    with admin_loaded.connect() as conn:
        inside = conn.execute(text(
            "SELECT count(*) FROM household h JOIN service_area a ON ST_Intersects(a.geom, h.geom)")).scalar()
        stored = conn.execute(text("SELECT count(*), min(threshold), min(unit) FROM coverage_service_area "
                                   "WHERE run_id = :r"), {"r": result.run_id}).one()
    assert 0 < inside < 1000
    assert result.summary["served_offsite_households"] == inside
    k2 = _facility_id(admin_loaded, "K2")
    assert result.summary["facilities_without_drawn_area"] == [k2]
    assert tuple(stored) == (1, 0.0, "drawn")


def test_service_area_import_names_unknown_and_ambiguous_facilities(admin_loaded, tmp_path):
    same_name = [{"id": f"M{i}", "nama": "MCK Pasar", "jenis": "mck", "lon": "112.05", "lat": "-2.9"}
                 for i in range(2)]
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", same_name))
    box = shapely.box(112.04, -2.91, 112.06, -2.89)
    with pytest.raises(ImportRejected) as caught:
        _import_areas(admin_loaded, tmp_path, [("MCK Pasar", box), ("X9", box)])
    text_ = str(caught.value.report.rejected)
    assert "matches 2 facilities" in text_ and "by its id" in text_
    assert "unknown facility 'X9'" in text_ and "import the facilities first" in text_
    assert _import_areas(admin_loaded, tmp_path, [("M0", box)], name="ok.geojson").inserted == 1


def test_depots_share_the_capacity_of_the_iplt_they_feed(admin_loaded, tmp_path):
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(1000)))
    rows = [{"id": "P1", "nama": "IPLT", "jenis": "iplt", "status": "existing", "kapasitas": "100",
             "satuan": "kk", "iplt_tujuan": "", "lon": "112.30", "lat": "-2.70"},
            {"id": "D1", "nama": "Depot A", "jenis": "depot", "status": "existing", "kapasitas": "5",
             "satuan": "truk", "iplt_tujuan": "P1", "lon": "112.06", "lat": "-2.90"},
            {"id": "D2", "nama": "Depot B", "jenis": "depot", "status": "existing", "kapasitas": "5",
             "satuan": "truk", "iplt_tujuan": "P1", "lon": "112.08", "lat": "-2.90"}]
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", rows))
    result = run_coverage(admin_loaded, CoverageOptions(method="buffer", distance_m=5000))
    assert result.summary["served_lltt_households"] == 100  # the plant, not 2 x 5 trucks
    with admin_loaded.connect() as conn:
        served = dict(conn.execute(text(
            "SELECT f.source_id, c.served_households FROM coverage_facility c JOIN facility f "
            "ON f.id = c.facility_id WHERE run_id = :r"), {"r": result.run_id}).all())
    assert served["D1"] + served["D2"] + served["P1"] <= 100
    unlimited = run_coverage(admin_loaded, CoverageOptions(method="buffer", distance_m=10_000, capacity=False))
    assert unlimited.summary["served_lltt_households"] == 1000


def test_feeds_must_name_an_iplt_and_only_depots_feed(admin_loaded, tmp_path):
    rows = [{"id": "D1", "nama": "Depot", "jenis": "depot", "iplt_tujuan": "NOPE", "lon": "112.1", "lat": "-2.9"},
            {"id": "M1", "nama": "MCK", "jenis": "mck", "iplt_tujuan": "D1", "lon": "112.1", "lat": "-2.9"}]
    with pytest.raises(ImportRejected) as caught:
        import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", rows))
    text_ = str(caught.value.report.rejected)
    assert "feeds unknown IPLT 'NOPE'" in text_ and "a mck cannot feed an IPLT" in text_


def test_nearest_k_facilities_per_household_match_brute_force(admin_loaded, tmp_path):
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(300)))
    depots = [dict(DEPOT, id=f"D{i}", nama=f"Depot {i}", lon=f"{112.04 + 0.02 * i:.2f}") for i in range(4)]
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", depots))
    result = run_coverage(admin_loaded, CoverageOptions(method="buffer", distance_m=3000, nearest_k=3))
    with admin_loaded.connect() as conn:
        got = pd.read_sql(text(
            "SELECT household_id, n.rank, n.facility_id, n.cost FROM coverage_household, "
            "unnest(lltt_near_ids, lltt_near_costs) WITH ORDINALITY AS n(facility_id, cost, rank) "
            "WHERE run_id = :r ORDER BY household_id, n.rank"), conn, params={"r": result.run_id})
        brute = pd.read_sql(text(
            "SELECT h.id AS household_id, f.id AS facility_id, ST_Distance(ST_Transform(h.geom, 32749), "
            "ST_Transform(f.geom, 32749)) AS d FROM household h, facility f WHERE ST_DWithin("
            "ST_Transform(h.geom, 32749), ST_Transform(f.geom, 32749), 3000) ORDER BY 1, 3, 2"), conn)
        nearest = pd.read_sql(text("SELECT household_id, lltt_nearest_id FROM coverage_household "
                                   "WHERE run_id = :r AND lltt_nearest_id IS NOT NULL"), conn,
                              params={"r": result.run_id})
    brute["rank"] = brute.groupby("household_id").cumcount() + 1
    brute = brute[brute["rank"] <= 3]
    assert len(got) == len(brute) > 300
    assert np.allclose(got["cost"], brute["d"], atol=0.01)  # stored as real: ~7 significant digits
    first = got[got["rank"] == 1].set_index("household_id")["facility_id"]
    assert first.to_dict() == nearest.set_index("household_id")["lltt_nearest_id"].to_dict()
    assert (got.groupby("household_id")["cost"].apply(lambda c: c.is_monotonic_increasing)).all()
    drawn = run_coverage(admin_loaded, CoverageOptions(method="polygon", nearest_k=2))
    with admin_loaded.connect() as conn:
        empty = conn.execute(text("SELECT count(*) FROM coverage_household WHERE run_id = :r AND "
                                  "lltt_near_ids IS NOT NULL"), {"r": drawn.run_id}).scalar()
    assert empty == 0  # no drawn areas: nothing reachable, arrays are NULL, not '{}'


def test_a_household_on_the_facility_is_in_its_buffer():
    f, h, d = buffer_pairs(np.array([[0.0, 0.0]]), np.array([[0.0, 0.0], [100.0, 0.0], [100.0001, 0]]), 100.0)
    assert sorted(h.tolist()) == [0, 1] and sorted(d.tolist()) == [0.0, 100.0]
    with pytest.raises(ValueError, match="finite"):
        buffer_pairs(np.array([[0.0, 0.0]]), np.array([[0.0, 0.0], [np.nan, np.nan]]), 100.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 400), st.floats(50, 20_000), st.floats(100, 50_000), st.integers(0, 2**32 - 1))
def test_buffer_pairs_are_every_pair_within_the_radius(n_fac, n_hh, radius, span, seed):
    """The grid (sparse facilities) and the tree traversal (dense ones) both give exactly the
    pairs a brute-force distance matrix gives, with its distances; facilities far outside too."""
    rng = np.random.default_rng(seed)
    fac = rng.uniform(-0.2 * span, 1.2 * span, (n_fac, 2)) + 700_000
    hh = np.vstack([rng.uniform(0, span, (n_hh, 2)) + 700_000, fac[:1]])  # one on a facility
    f, h, d = buffer_pairs(fac, hh, radius)
    dist = np.sqrt(((hh[None, :, :] - fac[:, None, :]) ** 2).sum(axis=2))
    want_f, want_h = np.nonzero(dist <= radius + 1e-6)
    got = np.lexsort((h, f))
    assert np.array_equal(f[got], want_f) and np.array_equal(h[got], want_h)
    assert np.allclose(d[got], dist[want_f, want_h], rtol=0, atol=1e-6)


def test_rungs_from_toilet_type_and_disposal_follow_the_urban_rural_pit_rule(admin_loaded, tmp_path):
    base = {"lon": "112.05", "lat": "-2.9"}
    east = {"lon": "112.25", "lat": "-2.9"}  # the kelurahan (urban) of the test admin areas
    rows = [
        dict(base, id="pit_rural", jenis_kloset="leher angsa", pembuangan="cubluk"),
        dict(east, id="pit_urban", jenis_kloset="leher angsa", pembuangan="cubluk"),
        dict(base, id="tank", jenis_kloset="leher angsa", pembuangan="tangki septik"),
        dict(base, id="tank_shared", jenis_kloset="leher angsa", pembuangan="tangki septik",
             jamban_bersama="ya"),
        dict(base, id="tank_emptied", jenis_kloset="leher angsa", pembuangan="tangki septik",
             terakhir_disedot=str(pd.Timestamp.today().date() - pd.Timedelta(days=400))),
        dict(base, id="sewer", jenis_kloset="leher angsa", pembuangan="ipal"),
        dict(base, id="river", jenis_kloset="leher angsa", pembuangan="sungai"),
        dict(base, id="cemplung", jenis_kloset="cemplung", pembuangan="cubluk"),
        dict(base, id="public", jenis_kloset="umum"),
        dict(base, id="none", jenis_kloset="tidak ada"),
        dict(base, id="given", jenis_kloset="tidak ada", akses_sanitasi="layak sendiri"),
        dict(base, id="unknown"),
    ]
    rows = [{k: r.get(k, "") for k in ("id", "lon", "lat", "jenis_kloset", "pembuangan", "jamban_bersama",
                                        "terakhir_disedot", "akses_sanitasi")} for r in rows]
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", rows))
    result = run_coverage(admin_loaded, CoverageOptions(method="buffer", nearest_k=0))
    assert result.summary["ladder"] == {"aman": 2, "layak_sendiri": 3, "layak_bersama": 1,
                                        "belum_layak": 4, "babs": 1, "unknown": 1}
    village = result.areas[(result.areas.area_code == "62.07.01.2002") & (result.areas.service == "all")]
    assert village["ladder"].iloc[0]["belum_layak"] == 1  # the urban pit


def test_demand_from_settlements_and_village_totals(admin_loaded, tmp_path):
    settlements = [{"id": "S1", "nama": "Kampung A", "penduduk": "400", "kk": "", "lon": "112.05", "lat": "-2.9"},
                   {"id": "S2", "nama": "Kampung B", "penduduk": "", "kk": "30", "lon": "112.15", "lat": "-2.9"},
                   {"id": "S3", "nama": "Kampung C", "penduduk": "100", "kk": "", "lon": "112.30", "lat": "-2.9"}]
    import_file(admin_loaded, "settlements", write_csv(tmp_path / "s.csv", settlements))
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(20)))  # the survey sample
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", [DEPOT]))
    result = run_coverage(admin_loaded, CoverageOptions(method="buffer", distance_m=6000, capacity=False,
                                                        demand="settlements"))
    s = result.summary
    assert s["households"] == 100 + 30 + 25 and s["people"] == 400 + 120 + 100
    assert s["served_lltt_households"] == 100 + 30  # S3 lies 22 km east
    assert s["ladder"]["unknown"] == 25  # the east village has no survey
    with admin_loaded.connect() as conn:
        points = pd.read_sql(text("SELECT origin, origin_ref, households, lltt_served FROM coverage_demand_point "
                                  "WHERE run_id = :r ORDER BY origin_ref"), conn, params={"r": result.run_id})
        demand = conn.execute(text("SELECT demand FROM coverage_run WHERE id = :r"), {"r": result.run_id}).scalar()
    assert points["households"].tolist() == [100, 30, 25] and points["lltt_served"].tolist() == [100, 30, 0]
    assert demand == "settlement population"
    with admin_loaded.connect() as conn:
        export_run(conn, result.run_id, tmp_path / "run.gpkg")
    exported = gpd.read_file(tmp_path / "run.gpkg", layer="coverage_demand_point")
    assert exported["any_served"].sum() == 130 and exported.crs.to_epsg() == 4326

    population = [{"kode": "62.07.01.2001", "tahun": "2024", "penduduk": "2000"},
                  {"kode": "62.07.01.2002", "tahun": "2024", "penduduk": "800"}]
    import_file(admin_loaded, "population", write_csv(tmp_path / "p.csv", population))
    spread = run_coverage(admin_loaded, CoverageOptions(method="buffer", distance_m=6000, capacity=False,
                                                        demand="villages"))
    assert spread.summary["households"] == 500 + 200 and spread.summary["people"] == 2800
    west = spread.areas[(spread.areas.area_code == "62.07.01.2001") & (spread.areas.service == "all")]
    assert int(west["households"].iloc[0]) == 500
    # west: 2000 people split 400 : 120 between S1 and S2 -> all within 6 km of the depot
    assert spread.summary["served_lltt_households"] == 500


def _raster(path, data: np.ndarray, crs="EPSG:4326", x0=112.0, y0=-2.6, cell=0.01):
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                       dtype="float32", crs=crs, transform=from_origin(x0, y0, cell, cell), nodata=-1) as dst:
        dst.write(data.astype("float32"), 1)
    return path


def test_demand_from_a_population_raster(admin_loaded, tmp_path):
    data = np.zeros((40, 40))
    data[20, 5] = 41.0  # a cell centre at (112.055, -2.805): west village
    data[20, 30] = 8.0  # east village, (112.305, -2.805)
    data[3, 3] = -1  # nodata
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", [dict(DEPOT, lat="-2.805")]))
    path = _raster(tmp_path / "pop.tif", data)
    result = run_coverage(admin_loaded, CoverageOptions(method="buffer", distance_m=6000, capacity=False,
                                                        demand="raster", raster=path))
    s = result.summary
    assert s["people"] == 49 and s["households"] == round(41 / 4) + round(8 / 4)
    assert s["served_lltt_households"] == 10
    with pytest.raises(ValueError, match="no CRS"):
        run_coverage(admin_loaded, CoverageOptions(method="buffer", demand="raster",
                                                   raster=_raster(tmp_path / "nocrs.tif", data, crs=None)))
    with pytest.raises(ValueError, match="--raster"):
        run_coverage(admin_loaded, CoverageOptions(method="buffer", demand="raster"))


def test_cli_runs_polygon_and_raster_options(admin_loaded, tmp_path):
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(50)))
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", [DEPOT]))
    out = CliRunner().invoke(app, ["coverage", "run", "--method", "polygon", "--nearest-k", "2",
                                   "--maps", str(tmp_path / "maps")])
    assert out.exit_code == 0, out.output
    assert "no drawn service area" in out.output and "import service_areas" in out.output
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == [
        "run1_peta_cakupan_layanan.png", "run1_peta_infrastruktur_utama.png"]
    again = CliRunner().invoke(app, ["coverage", "maps", "1", "--out", str(tmp_path / "again"), "--dpi", "50"])
    assert again.exit_code == 0 and len(list((tmp_path / "again").glob("*.png"))) == 2
    missing = CliRunner().invoke(app, ["coverage", "maps", "99", "--out", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "99" in missing.output
    bad = CliRunner().invoke(app, ["coverage", "run", "--demand", "census"])
    assert bad.exit_code != 0 and "unknown demand 'census'" in bad.output


def _facility_id(engine, source_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM facility WHERE source_id = :s"), {"s": source_id}).scalar()


def test_network_run_isochrones_cover_every_household_reached(admin_loaded, tmp_path):
    """A track across the west village with a footpath branch; households along and off it; the
    stored 20- and 40-minute polygons of the depot cover every household within those minutes."""
    import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(1000)))
    x = np.round(np.arange(112.02, 112.161, 0.005), 3)  # a track split every ~550 m, and a footpath
    lines = [shapely.LineString([(a, -2.9), (b, -2.9)]) for a, b in zip(x[:-1], x[1:])]
    lines.append(shapely.LineString([(112.10, -2.9), (112.10, -2.888)]))
    roads = gpd.GeoDataFrame({"id": [f"e{i}" for i in range(len(lines))],
                              "moda": ["road"] * (len(lines) - 1) + ["path"],
                              "kelas": ["track"] * (len(lines) - 1) + ["footway"]},
                             geometry=lines, crs="EPSG:4326")
    roads.to_file(tmp_path / "roads.geojson", driver="GeoJSON")
    import_file(admin_loaded, "network", tmp_path / "roads.geojson")
    import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", [dict(DEPOT, lon="112.02")]))
    result = run_coverage(admin_loaded, CoverageOptions(thresholds_min=[20, 40], capacity=False))
    with admin_loaded.connect() as conn:
        rows = conn.execute(text(
            "SELECT a.threshold, count(*) FILTER (WHERE c.lltt_cost <= a.threshold), "
            "count(*) FILTER (WHERE c.lltt_cost <= a.threshold AND ST_Covers(a.geom, h.geom)) "
            "FROM coverage_household c JOIN household h ON h.id = c.household_id "
            "JOIN coverage_service_area a ON a.run_id = c.run_id AND a.service = 'lltt' "
            "WHERE c.run_id = :r GROUP BY a.threshold ORDER BY 1"), {"r": result.run_id}).all()
        nearest = conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE lltt_near_ids[1] = lltt_nearest_id "
            "AND abs(lltt_near_costs[1] - lltt_cost) < 1e-3) FROM coverage_household "
            "WHERE run_id = :r AND lltt_nearest_id IS NOT NULL"), {"r": result.run_id}).one()
    assert nearest[0] > 0 and nearest[0] == nearest[1]  # rank 1 of the k nearest is the nearest
    assert [r[0] for r in rows] == [20.0, 40.0]
    for threshold, reached, covered in rows:
        assert reached > 0 and covered == reached, threshold
    assert rows[0][1] < rows[1][1]
