"""The two Buku Putih maps of a stored coverage run (analysis/maps.py): two PNG files of the figure
size at the asked dpi, village colours that follow the share of households served, the
illustrative stamp only on illustrative runs, the river drawn on the infrastructure map."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image
from sqlalchemy import text

from gis_service.analysis.coverage import CoverageOptions, run_coverage
from gis_service.analysis.maps import COVERAGE_COLOURS, FIGSIZE, NO_HOUSEHOLDS_COLOUR, render_maps
from gis_service.ingest.importer import import_file
from tests.helpers import households, write_csv

CRS = "EPSG:32749"
DPI = 60


@pytest.fixture
def region(engine, tmp_path):
    """Villages west (1,000 households), east (500) and empty (none) in one district; a depot
    with one truck 5.5 km south of the west households."""
    boxes = {"62.07": (112.0, -3.0, 112.6, -2.6), "62.07.01": (112.0, -3.0, 112.6, -2.6),
             "62.07.01.2001": (112.0, -3.0, 112.2, -2.6), "62.07.01.2002": (112.2, -3.0, 112.4, -2.6),
             "62.07.01.2003": (112.4, -3.0, 112.6, -2.6)}
    for level, codes in (("regency", ["62.07"]), ("district", ["62.07.01"]),
                         ("village", ["62.07.01.2001", "62.07.01.2002", "62.07.01.2003"])):
        frame = gpd.GeoDataFrame({"kode": codes, "nama": [f"Wilayah {c}" for c in codes]},
                                 geometry=[shapely.MultiPolygon([shapely.box(*boxes[c])]) for c in codes],
                                 crs="EPSG:4326")
        frame.to_file(tmp_path / f"{level}.geojson", driver="GeoJSON")
        import_file(engine, "admin", tmp_path / f"{level}.geojson")
    east = [dict(r, id=f"E{i}", lon=f"{float(r['lon']) + 0.2:.6f}") for i, r in enumerate(households(500))]
    import_file(engine, "households", write_csv(tmp_path / "h.csv", households(1000) + east))
    depot = {"id": "D1", "nama": "Depo Uji", "jenis": "depot", "status": "existing", "kapasitas": "1",
             "satuan": "truk", "lon": "112.10", "lat": "-2.95"}
    import_file(engine, "facilities", write_csv(tmp_path / "f.csv", [depot]))
    return engine


def _render(engine, run_id: int, out_dir, dpi: int = DPI) -> list:
    with engine.connect() as conn:
        return render_maps(conn, run_id, out_dir, metric_crs=CRS, dpi=dpi)


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def _count(image: np.ndarray, colour: str) -> int:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((image == rgb).all(axis=2).sum())


def test_two_pngs_of_the_figure_size_at_the_dpi(region, tmp_path):
    run = run_coverage(region, CoverageOptions(method="buffer", distance_m=3000)).run_id
    for dpi in (DPI, 100):
        paths = _render(region, run, tmp_path / str(dpi), dpi)
        assert [p.name for p in paths] == [f"run{run}_peta_cakupan_layanan.png",
                                           f"run{run}_peta_infrastruktur_utama.png"]
        for path in paths:
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            with Image.open(path) as image:
                image.verify()
            assert Image.open(path).size == (round(FIGSIZE[0] * dpi), round(FIGSIZE[1] * dpi))


def test_unknown_run_is_refused(region, tmp_path):
    with pytest.raises(ValueError, match="coverage run 999 does not exist"):
        _render(region, 999, tmp_path)
    assert not (tmp_path / "run999_peta_cakupan_layanan.png").exists()


def test_village_colours_follow_the_share_served(region, tmp_path):
    none = run_coverage(region, CoverageOptions(method="buffer", distance_m=1000)).run_id
    full = run_coverage(region, CoverageOptions(method="buffer", distance_m=50_000, capacity=False)).run_id
    with region.connect() as conn:
        served = dict(conn.execute(text("SELECT run_id, served_households FROM coverage_area "
                                        "WHERE level = 'regency' AND service = 'all'")).all())
    assert served == {none: 0, full: 1500}
    unserved = _pixels(_render(region, none, tmp_path / "none")[0])
    all_served = _pixels(_render(region, full, tmp_path / "full")[0])
    zero, top = COVERAGE_COLOURS[0], COVERAGE_COLOURS[-1]
    # two villages' worth of fill; the legend swatches are a few hundred pixels
    assert _count(unserved, zero) > 10_000 and _count(unserved, top) < 1_000
    assert _count(all_served, top) > 10_000 and _count(all_served, zero) < 1_000
    for image in (unserved, all_served):  # the village without households is grey whatever the run
        assert _count(image, NO_HOUSEHOLDS_COLOUR) > 3_000


def test_illustrative_stamp_only_on_illustrative_runs(region, tmp_path):
    run = run_coverage(region, CoverageOptions(method="buffer", distance_m=3000)).run_id
    reds = {}
    for flag in (False, True):
        with region.begin() as conn:
            conn.execute(text("UPDATE coverage_run SET illustrative = :f WHERE id = :r"),
                         {"f": flag, "r": run})
        for path in _render(region, run, tmp_path / str(flag)):
            image = _pixels(path)
            r, g, b = image[..., 0], image[..., 1], image[..., 2]
            red = (r > 150) & (r - g > 60) & (r - b > 60)
            reds[flag, path.name] = int(red.sum())
    for name in (f"run{run}_peta_cakupan_layanan.png", f"run{run}_peta_infrastruktur_utama.png"):
        assert reds[False, name] < 50 and reds[True, name] > 1_000, reds


def test_infrastructure_map_draws_the_river(region, tmp_path):
    run = run_coverage(region, CoverageOptions(method="buffer", distance_m=3000)).run_id

    def blue() -> int:
        image = _pixels(_render(region, run, tmp_path, dpi=100)[1])
        return int(((image[..., 2] - image[..., 0] > 90) & (image[..., 2] > 150)).sum())

    before = blue()
    river = gpd.GeoDataFrame({"id": ["R1"], "moda": ["sungai"], "nama": ["Sungai Uji"]},
                             geometry=[shapely.LineString([(112.3, -2.99), (112.31, -2.8), (112.3, -2.61)])],
                             crs="EPSG:4326")
    river.to_file(tmp_path / "river.geojson", driver="GeoJSON")
    import_file(region, "network", tmp_path / "river.geojson")
    assert before < 20 and blue() > 100
