"""The catalogue of bad inputs: each gets a clear error naming the record and the fix, and the
database is left exactly as it was (imports are transactional)."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text

from gis_service.ingest.context import ImportOptions
from gis_service.ingest.importer import import_file
from gis_service.ingest.report import ImportRejected
from tests.conftest import snapshot
from tests.helpers import households, write_csv


def _geojson(path, features, crs=None):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": p, "geometry": g} for p, g in features]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _point(x, y):
    return {"type": "Point", "coordinates": [x, y]}


def _poly(coords):
    return {"type": "Polygon", "coordinates": [coords]}


def _facility(name="IPLT Uji", jenis="IPLT", **extra):
    return {"nama": name, "jenis": jenis, **extra}


def case_collapsed_ring(tmp):
    ring = [[112.05, -2.9], [112.06, -2.9], [112.05, -2.9], [112.06, -2.9], [112.05, -2.9]]
    return "admin", _geojson(tmp / "a.geojson", [({"kode": "62.07.01.2003", "nama": "Desa Rusak"},
                                                  _poly(ring))]), {}, "cannot be repaired safely"


def case_declared_degrees_but_metres(tmp):
    return "facilities", _geojson(tmp / "f.geojson", [(_facility(), _point(700000, 9680000))]), {}, \
        "look like metres"


def case_declared_metres_but_degrees(tmp):
    frame = gpd.GeoDataFrame([_facility()], geometry=[shapely.Point(112.1, -2.9)], crs="EPSG:32749")
    path = tmp / "f.gpkg"
    frame.to_file(path)
    return "facilities", path, {}, "look like degrees"


def case_swapped_axes(tmp):
    rows = [{"nama": "IPLT", "jenis": "iplt", "lon": "-2.9", "lat": "112.1"}]
    return "facilities", write_csv(tmp / "f.csv", rows), {}, "look swapped"


def case_missing_crs_shapefile(tmp):
    frame = gpd.GeoDataFrame([_facility()], geometry=[shapely.Point(112.1, -2.9)], crs="EPSG:4326")
    frame.to_file(tmp / "f.shp")
    (tmp / "f.prj").unlink()
    zpath = tmp / "f.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for ext in ("shp", "shx", "dbf"):
            zf.write(tmp / f"f.{ext}", f"f.{ext}")
    return "facilities", zpath, {}, "no coordinate reference system"


def case_xy_without_crs(tmp):
    rows = [{"nama": "IPLT", "jenis": "iplt", "x": "700000", "y": "9680000"}]
    return "facilities", write_csv(tmp / "f.csv", rows), {}, "have no CRS"


def case_mixed_geometry_types(tmp):
    line = {"type": "LineString", "coordinates": [[112.1, -2.9], [112.11, -2.91]]}
    return "facilities", _geojson(tmp / "f.geojson", [(_facility("A"), _point(112.1, -2.9)),
                                                      (_facility("B"), line)]), {}, "geometry is a LineString"


def case_duplicate_codes(tmp):
    sq = [[112.05, -2.95], [112.1, -2.95], [112.1, -2.9], [112.05, -2.9], [112.05, -2.95]]
    feats = [({"kode": "62.07.01.2009", "nama": "Satu"}, _poly(sq)), ({"kode": "62.07.01.2009", "nama": "Dua"},
                                                                      _poly(sq))]
    return "admin", _geojson(tmp / "a.geojson", feats), {}, "duplicate code 62.07.01.2009"


def case_duplicate_household_ids(tmp):
    rows = households(3)
    rows[2]["id"] = rows[0]["id"]
    return "households", write_csv(tmp / "h.csv", rows), {}, "duplicate source_id H00000"


def case_unknown_parent(tmp):
    sq = [[112.05, -2.95], [112.1, -2.95], [112.1, -2.9], [112.05, -2.9], [112.05, -2.95]]
    return "admin", _geojson(tmp / "a.geojson", [({"kode": "62.07.09.2001", "nama": "Yatim"}, _poly(sq))]), \
        {}, "unknown parent code 62.07.09"


def case_unknown_village_code(tmp):
    rows = households(2)
    rows[1]["kode_desa"] = "62.07.01.2999"
    rows[0]["kode_desa"] = "62.07.01.2001"
    return "households", write_csv(tmp / "h.csv", rows), {}, "unknown village code 62.07.01.2999"


def case_empty_file(tmp):
    path = tmp / "e.geojson"
    path.write_bytes(b"")
    return "facilities", path, {}, "is empty"


def case_no_features(tmp):
    return "facilities", _geojson(tmp / "f.geojson", []), {}, "no records"


def case_wrong_columns(tmp):
    rows = [{"foo": "x", "bar": "y", "lon": "112.1", "lat": "-2.9"}]
    return "facilities", write_csv(tmp / "f.csv", rows), {}, "no column for 'name'"


def case_unknown_enum(tmp):
    rows = [{"nama": "Kolam", "jenis": "kolam oksidasi", "lon": "112.1", "lat": "-2.9"}]
    return "facilities", write_csv(tmp / "f.csv", rows), {}, "is not a known type"


def case_bad_number(tmp):
    rows = households(2)
    rows[1]["jumlah_anggota"] = "tiga"
    return "households", write_csv(tmp / "h.csv", rows), {}, "'tiga' is not a whole number"


def case_outside_region(tmp):
    rows = [{"nama": "IPLT Jakarta", "jenis": "iplt", "lon": "106.8", "lat": "-6.2"}]
    return "facilities", write_csv(tmp / "f.csv", rows), {}, "lies outside"


def case_undotted_codes(tmp):
    sq = [[112.05, -2.95], [112.1, -2.95], [112.1, -2.9], [112.05, -2.9], [112.05, -2.95]]
    return "admin", _geojson(tmp / "a.geojson", [({"kode": "6207012005", "nama": "Tanpa Titik"}, _poly(sq))]), \
        {}, "has no dots"


def case_level_contradicts_code(tmp):
    rows = [{"kode": "62.07.01", "nama": "Salah", "level": "desa"}]
    return "admin", write_csv(tmp / "a.csv", rows), {}, "is a district code"


def case_multilayer_gpkg(tmp):
    path = tmp / "m.gpkg"
    frame = gpd.GeoDataFrame([_facility()], geometry=[shapely.Point(112.1, -2.9)], crs="EPSG:4326")
    frame.to_file(path, layer="one")
    frame.to_file(path, layer="two")
    return "facilities", path, {}, "choose one with --layer"


def case_unsupported_format(tmp):
    path = tmp / "f.ods"
    path.write_bytes(b"PK\x03\x04 an OpenDocument spreadsheet")
    return "facilities", path, {}, "unsupported format"


def case_damaged_workbook(tmp):
    path = tmp / "f.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a spreadsheet")
    return "facilities", path, {}, "cannot be read as an Excel workbook"


def case_missing_coordinates(tmp):
    rows = [{"nama": "A", "jenis": "mck", "lon": "112.1", "lat": "-2.9"},
            {"nama": "B", "jenis": "mck", "lon": "", "lat": ""}]
    return "facilities", write_csv(tmp / "f.csv", rows), {}, "no geometry"


def case_capacity_without_unit(tmp):
    rows = [{"nama": "IPLT", "jenis": "iplt", "kapasitas": "20", "lon": "112.1", "lat": "-2.9"}]
    return "facilities", write_csv(tmp / "f.csv", rows), {}, "has no unit"


def case_pilot_period_reversed(tmp):
    rows = [{"pilot": "LLTT", "periode_mulai": "2024-02-01", "periode_selesai": "2024-01-01",
             "jumlah_penyedotan": "30"}]
    return "pilots", write_csv(tmp / "p.csv", rows), {}, "before it starts"


def case_population_unknown_code(tmp):
    rows = [{"kode": "62.07.01.2077", "tahun": "2024", "penduduk": "1200"}]
    return "population", write_csv(tmp / "p.csv", rows), {}, "unknown area code 62.07.01.2077"


def case_population_without_year(tmp):
    rows = [{"kode": "62.07.01.2001", "penduduk": "1200"}]
    return "population", write_csv(tmp / "p.csv", rows), {}, "no year"


def case_bps_code_taken(tmp):
    rows = [{"kode": "62.07.01.2002", "nama": "Desa Timur", "kode_bps": "6208010001"}]
    return "admin", write_csv(tmp / "a.csv", rows), {}, "already belongs to 62.07.01.2001"


def case_huge_file(tmp):
    rows = households(5)
    return "households", write_csv(tmp / "h.csv", rows), {"max_mb": 0}, "above the 0 MB limit"


def case_one_bad_row_in_thousand(tmp):
    rows = households(1000)
    rows[637]["akses_sanitasi"] = "entah"
    return "households", write_csv(tmp / "h.csv", rows), {}, "row 638"


CASES = [v for k, v in sorted(globals().items()) if k.startswith("case_")]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__[5:] for c in CASES])
def test_bad_input_is_rejected_and_nothing_is_written(case, admin_loaded, tmp_path, monkeypatch):
    engine = admin_loaded
    kind, path, extra, expected = case(tmp_path)
    if "max_mb" in extra:
        monkeypatch.setenv("GIS_SERVICE_MAX_IMPORT_MB", str(extra["max_mb"]))
    before = snapshot(engine)
    with pytest.raises(ImportRejected) as info:
        import_file(engine, kind, path)
    report = info.value.report
    text = "\n".join(report.lines(limit=100))
    assert expected in text, text
    assert all(p.fix or p.row is None for p in report.rejected), text  # record errors say the fix
    assert not report.written
    assert snapshot(engine) == before


def test_catalogue_is_large_enough():
    assert len(CASES) >= 20


def test_skip_bad_writes_good_rows_and_lists_the_bad_one(admin_loaded, tmp_path):
    rows = households(1000)
    rows[637]["akses_sanitasi"] = "entah"
    report = import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", rows),
                         ImportOptions(skip_bad=True))
    assert report.inserted == 999 and len(report.rejected) == 1
    assert report.rejected[0].row == 638 and report.rejected[0].record == "H00637"
    with admin_loaded.connect() as conn:  # the good rows as they were written, the bad one not at all
        stored = conn.execute(text("SELECT source_id, ladder_rung, members, round(ST_X(geom)::numeric, 6) "
                                   "FROM household WHERE source_id IN ('H00636', 'H00637', 'H00638') "
                                   "ORDER BY source_id")).all()
    expected = [(r["id"], r["akses_sanitasi"], int(r["jumlah_anggota"]), float(r["lon"])) for r in (rows[636], rows[638])]
    assert [(i, rung, n, float(x)) for i, rung, n, x in stored] == [
        (i, {"Layak Sendiri": "layak_sendiri", "layak-bersama": "layak_bersama", "belum layak": "belum_layak",
             "BABS": "babs"}.get(rung, rung), n, x) for i, rung, n, x in expected]


def test_swap_xy_option_fixes_swapped_axes(admin_loaded, tmp_path):
    rows = [{"nama": "IPLT", "jenis": "iplt", "lon": "-2.9", "lat": "112.1"}]
    report = import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", rows),
                         ImportOptions(swap_xy=True))
    assert report.inserted == 1
    with admin_loaded.connect() as conn:  # stored with the axes put right
        assert conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM facility WHERE name = 'IPLT'")).one() == (112.1, -2.9)


def test_plain_codes_option_accepts_undotted_codes(admin_loaded, tmp_path):
    kind, path, _, _ = case_undotted_codes(tmp_path)
    report = import_file(admin_loaded, kind, path, ImportOptions(plain_codes=True))
    assert report.inserted == 1
    with admin_loaded.connect() as conn:  # stored under its dotted code, below its district
        assert conn.execute(text("SELECT code, name, level, parent_code FROM admin_area WHERE name = 'Tanpa Titik'")
                            ).one() == ("62.07.01.2005", "Tanpa Titik", "village", "62.07.01")
