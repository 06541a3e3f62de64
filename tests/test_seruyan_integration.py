"""The real Seruyan boundaries (shared/data/seruyan, not in the repository) import cleanly.
Skipped when the folder is absent."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gis_service.ingest.importer import import_file

pytestmark = pytest.mark.integration


def test_real_seruyan_boundaries_codes_and_crosswalk(engine, seruyan_dir):
    reports = [import_file(engine, "admin", seruyan_dir / name) for name in (
        "kabupaten.geojson", "kecamatan.geojson", "desa.geojson", "kode_wilayah.csv",
        "crosswalk_kecamatan.csv", "crosswalk_villages.csv")]
    assert all(not r.rejected for r in reports)
    with engine.connect() as conn:
        counts = dict(conn.execute(text("SELECT level, count(*) FROM admin_area GROUP BY 1")).all())
        area = conn.execute(text("SELECT sum(area_km2) FROM admin_area WHERE level = 'village'")).scalar()
        kinds = dict(conn.execute(text(
            "SELECT village_kind, count(*) FROM admin_area WHERE level = 'village' GROUP BY 1")).all())
        bps = conn.execute(text("SELECT bps_code FROM admin_area WHERE code = '62.07.01'")).scalar()
        capital = conn.execute(text("SELECT bps_code FROM admin_area WHERE code = '62.07.01.1001'")).scalar()
        invalid = conn.execute(text("SELECT count(*) FROM admin_area WHERE NOT ST_IsValid(geom)")).scalar()
    assert counts == {"province": 1, "regency": 1, "district": 10, "village": 100}
    assert kinds == {"desa": 97, "kelurahan": 3}
    assert area == pytest.approx(15_210, rel=0.002)  # README of the data: 15,210 km² in UTM 49S
    assert bps == "6208010" and capital == "6208010005"  # BPS 6208 is Seruyan, joined by crosswalk
    assert invalid == 0
    again = import_file(engine, "admin", seruyan_dir / "desa.geojson")
    assert again.inserted == 0 and again.rejected == []


def test_coverage_end_to_end_on_real_boundaries(engine, seruyan_dir, tmp_path):
    """Real village polygons, generated households inside them, a depot in Kuala Pembuang."""
    import geopandas as gpd
    import numpy as np

    from gis_service.analysis.coverage import CoverageOptions, run_coverage

    for name in ("kabupaten.geojson", "kecamatan.geojson", "desa.geojson"):
        import_file(engine, "admin", seruyan_dir / name)
    villages = gpd.read_file(seruyan_dir / "desa.geojson").to_crs(32749)
    points = villages.geometry.sample_points(size=30, rng=np.random.default_rng(7)).explode()
    hh = gpd.GeoDataFrame({"id": [f"S{i}" for i in range(len(points))],
                           "akses_sanitasi": np.resize(["layak sendiri", "babs", "aman"], len(points))},
                          geometry=points.to_crs(4326).to_numpy(), crs=4326)
    hh.to_file(tmp_path / "hh.gpkg")
    assert import_file(engine, "households", tmp_path / "hh.gpkg").inserted == 3000
    depot = gpd.GeoDataFrame({"nama": ["Depot"], "jenis": ["depot"], "status": ["pilot"]},
                             geometry=gpd.points_from_xy([112.48], [-3.36]), crs=4326)
    depot.to_file(tmp_path / "depot.gpkg")
    import_file(engine, "facilities", tmp_path / "depot.gpkg")
    result = run_coverage(engine, CoverageOptions(method="buffer", distance_m=15_000, capacity=False))
    villages_rows = result.areas[(result.areas.level == "village") & (result.areas.service == "all")]
    assert len(villages_rows) == 100 and villages_rows.households.sum() == 3000
    assert 0 < result.summary["served_lltt_households"] < 3000
