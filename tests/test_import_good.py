"""Each importer with good input in each accepted format; re-imports are idempotent."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import osmium
import pytest
import shapely
from sqlalchemy import text

from gis_service.ingest.context import ImportOptions
from gis_service.ingest.importer import import_file
from gis_service.ingest.report import ImportRejected
from tests.conftest import snapshot
from tests.helpers import households, write_csv


def _scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_admin_hierarchy_codes_levels_and_area(admin_loaded):
    with admin_loaded.connect() as conn:
        rows = conn.execute(text("SELECT code, level, parent_code, village_kind, urban_rural, round(area_km2) "
                                 "FROM admin_area ORDER BY code")).all()
    assert [r[:3] for r in rows] == [("62", "province", None), ("62.07", "regency", "62"),
                                     ("62.07.01", "district", "62.07"),
                                     ("62.07.01.2001", "village", "62.07.01"),
                                     ("62.07.01.2002", "village", "62.07.01")]
    assert rows[4][3:5] == ("kelurahan", "urban") and rows[3][3:5] == ("desa", "rural")
    # 0.2 x 0.4 degrees near 2.8 S in UTM 49S
    assert 900 < rows[3][5] < 1000


def test_reimport_is_idempotent(admin_loaded, admin_files):
    before = snapshot(admin_loaded)
    report = import_file(admin_loaded, "admin", admin_files["village"])
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 2)
    after = snapshot(admin_loaded)
    provenance = {"import_log", "data_source"}  # these record that the import ran
    assert {k: v for k, v in after.items() if k not in provenance} == \
        {k: v for k, v in before.items() if k not in provenance}


def test_households_csv_lonlat_with_vocab_matching(admin_loaded, tmp_path):
    report = import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(50)))
    assert report.inserted == 50 and not report.rejected
    with admin_loaded.connect() as conn:
        rungs = dict(conn.execute(text("SELECT ladder_rung, count(*) FROM household GROUP BY 1")).all())
        villages = conn.execute(text("SELECT DISTINCT village_code FROM household")).scalars().all()
        srid = conn.execute(text("SELECT DISTINCT ST_SRID(geom) FROM household")).scalar()
    assert rungs == {"aman": 10, "layak_sendiri": 10, "layak_bersama": 10, "belum_layak": 10, "babs": 10}
    assert villages == ["62.07.01.2001"]  # assigned from location
    assert srid == 4326
    again = import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(50)))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 50)
    changed = households(50)
    changed[3]["akses_sanitasi"] = "aman"
    third = import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", changed))
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 49)


def test_kobo_export_geopoint_columns(admin_loaded, tmp_path):
    rows = [{"_uuid": f"u{i}", "_location_latitude": "-2.8", "_location_longitude": f"{112.25 + i / 1000}",
             "_location_altitude": "5", "_location_precision": "4.5", "akses_sanitasi": "layak sendiri",
             "_submission_time": "2024-05-02T10:11:12"} for i in range(5)]
    report = import_file(admin_loaded, "households", write_csv(tmp_path / "kobo.csv", rows))
    assert report.inserted == 5
    assert _scalar(admin_loaded, "SELECT min(village_code) FROM household") == "62.07.01.2002"
    assert str(_scalar(admin_loaded, "SELECT min(survey_date) FROM household")) == "2024-05-02"


def test_odk_single_geopoint_column(admin_loaded, tmp_path):
    rows = [{"instanceID": f"uuid:{i}", "lokasi": f"-2.85 {112.1 + i / 1000} 12.0 5.0", "akses": "BABS"}
            for i in range(4)]
    report = import_file(admin_loaded, "households", write_csv(tmp_path / "odk.csv", rows))
    assert report.inserted == 4
    assert _scalar(admin_loaded, "SELECT ST_Y(geom) FROM household LIMIT 1") == pytest.approx(-2.85)


def test_facilities_geojson_capacity_with_unit_text(admin_loaded, tmp_path):
    frame = gpd.GeoDataFrame(
        {"kode": ["F1", "F2"], "nama": ["IPLT Uji", "Depot Sedot"], "jenis": ["Instalasi Pengolahan Lumpur Tinja",
                                                                            "depot sedot tinja"],
         "status": ["Uji coba", "rencana"], "kapasitas": ["20 m3/hari", "2"], "satuan": [None, "truk"],
         "jenis_pengelola": ["UPTD PAL", "Perumda"], "moda": ["jalan;sungai", "jalan"]},
        geometry=[shapely.Point(112.1, -2.9), shapely.Point(112.3, -2.7)], crs="EPSG:4326")
    path = tmp_path / "f.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = import_file(admin_loaded, "facilities", path, ImportOptions(fields={"source_id": "kode"}))
    assert report.inserted == 2
    with admin_loaded.connect() as conn:
        rows = conn.execute(text("SELECT source_id, type, status, capacity, capacity_unit, institution_type, "
                                 "service_modes, village_code FROM facility ORDER BY source_id")).all()
    assert rows[0] == ("F1", "iplt", "pilot", 20, "m3_per_day", "uptd", ["river", "road"], "62.07.01.2001")
    assert rows[1][1:6] == ("desludging_depot", "planned", 2, "trucks", "bumd")


def test_settlements_zipped_shapefile_in_utm(admin_loaded, tmp_path):
    poly = gpd.GeoSeries([shapely.Point(112.1, -2.9).buffer(0.002), shapely.Point(112.3, -2.7).buffer(0.001)],
                         crs="EPSG:4326").to_crs("EPSG:32749")
    frame = gpd.GeoDataFrame({"id": ["S1", "S2"], "nama": ["Kampung A", "Kampung B"], "penduduk": [350, 120]},
                             geometry=poly, crs="EPSG:32749")
    frame.to_file(tmp_path / "s.shp")
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as zf:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            if (tmp_path / f"s.{ext}").exists():
                zf.write(tmp_path / f"s.{ext}", f"s.{ext}")
    report = import_file(admin_loaded, "settlements", tmp_path / "s.zip")
    assert report.inserted == 2
    assert any("reprojected from EPSG:32749" in n for n in report.notes)
    types = _scalar(admin_loaded, "SELECT string_agg(DISTINCT GeometryType(geom), ',' ORDER BY "
                                  "GeometryType(geom)) FROM settlement")
    assert types == "POLYGON"


def test_wkt_csv_with_explicit_crs(admin_loaded, tmp_path):
    x, y = gpd.GeoSeries([shapely.Point(112.1, -2.9)], crs="EPSG:4326").to_crs("EPSG:32749").iloc[0].coords[0]
    rows = [{"id": "E1", "moda": "road", "kelas": "primary", "wkt": f"LINESTRING ({x} {y}, {x + 1000} {y})"}]
    report = import_file(admin_loaded, "network", write_csv(tmp_path / "n.csv", rows),
                         ImportOptions(crs="EPSG:32749"))
    assert report.inserted == 1
    assert round(_scalar(admin_loaded, "SELECT length_m FROM network_edge")) == 1000


def test_building_footprints_become_points(admin_loaded, tmp_path):
    frame = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[shapely.box(112.1, -2.9, 112.1002, -2.8998)],
                             crs="EPSG:4326")
    frame.to_file(tmp_path / "b.gpkg")
    report = import_file(admin_loaded, "households", tmp_path / "b.gpkg")
    assert report.inserted == 1 and any("footprints" in n for n in report.notes)


def test_spike_is_repaired_and_reported_but_a_bowtie_is_refused(admin_loaded, tmp_path):
    """The safe-repair rule: make_valid may drop a spike (same parts, same area) but not split a
    bow-tie into two triangles (one part drawn, two made)."""
    spike = shapely.Polygon([(112.05, -2.95), (112.1, -2.95), (112.1, -2.9), (112.08, -2.9), (112.08, -2.88),
                             (112.08, -2.9), (112.05, -2.9), (112.05, -2.95)])
    frame = gpd.GeoDataFrame({"kode": ["62.07.01.2003"], "nama": ["Desa Duri"]}, geometry=[spike], crs="EPSG:4326")
    frame.to_file(tmp_path / "v.gpkg")
    report = import_file(admin_loaded, "admin", tmp_path / "v.gpkg")
    assert report.inserted == 1 and len(report.repaired) == 1
    assert "Self-intersection" in report.repaired[0].reason and "1 part(s)" in report.repaired[0].reason
    assert _scalar(admin_loaded, "SELECT ST_IsValid(geom) AND ST_NumGeometries(geom) = 1 "
                                 "FROM admin_area WHERE code = '62.07.01.2003'")
    area = _scalar(admin_loaded, "SELECT ST_Area(geom) FROM admin_area WHERE code = '62.07.01.2003'")
    assert area == pytest.approx(0.05 * 0.05, rel=1e-9)  # the square; the spike had no area
    bowtie = shapely.Polygon([(112.05, -2.95), (112.1, -2.9), (112.1, -2.95), (112.05, -2.9), (112.05, -2.95)])
    frame = gpd.GeoDataFrame({"kode": ["62.07.01.2004"], "nama": ["Desa Kupu"]}, geometry=[bowtie], crs="EPSG:4326")
    frame.to_file(tmp_path / "b.gpkg")
    before = snapshot(admin_loaded)
    with pytest.raises(ImportRejected) as info:
        import_file(admin_loaded, "admin", tmp_path / "b.gpkg")
    assert "makes 2 polygon part(s) of a shape drawn as 1" in info.value.report.rejected[0].reason
    assert snapshot(admin_loaded) == before


def test_unclosed_ring_is_closed_and_reported(admin_loaded, tmp_path):
    path = tmp_path / "u.geojson"
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kode":'
                    '"62.07.01.2004","nama":"Desa Terbuka"},"geometry":{"type":"Polygon","coordinates":'
                    '[[[112.05,-2.95],[112.1,-2.95],[112.1,-2.9],[112.05,-2.9]]]}}]}')
    report = import_file(admin_loaded, "admin", path)
    assert report.inserted == 1 and "ring not closed" in report.repaired[0].reason


def test_latin1_csv_is_decoded(admin_loaded, tmp_path):
    rows = [{"kode": "62.07.01.2001", "nama": "Désa Barat Ñ"}]
    report = import_file(admin_loaded, "admin", write_csv(tmp_path / "a.csv", rows, encoding="latin-1"))
    assert "encoding: Windows-1252 (not UTF-8: the first non-UTF-8 byte is on line 2)" in report.notes
    assert _scalar(admin_loaded, "SELECT name FROM admin_area WHERE code = '62.07.01.2001'") == "Désa Barat Ñ"
    rows = [{"kode": "62.07.01.2001", "nama": "Desa \x81 Barat"}]  # 0x81 is undefined in Windows-1252
    report = import_file(admin_loaded, "admin", write_csv(tmp_path / "b.csv", rows, encoding="latin-1"))
    assert any(n.startswith("encoding: Latin-1") for n in report.notes)
    assert _scalar(admin_loaded, "SELECT name FROM admin_area WHERE code = '62.07.01.2001'") == "Desa \x81 Barat"
    for bom, encoding, note in ((b"\xef\xbb\xbf", "utf-8", "encoding: UTF-8 with a byte-order mark"),
                                (b"", "utf-16", "encoding: UTF-16 (with a byte-order mark)")):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(bom + "kode,nama\n62.07.01.2001,Désa Barat Ñ\n".encode(encoding))
        report = import_file(admin_loaded, "admin", path)
        assert note in report.notes and report.columns == {"code": "kode", "name": "nama"}
        assert _scalar(admin_loaded, "SELECT name FROM admin_area WHERE code = '62.07.01.2001'") == "Désa Barat Ñ"


def test_population_by_bps_code_through_crosswalk(admin_loaded, tmp_path):
    rows = [{"kode_bps": "6208010001", "tahun": "2024", "jumlah_penduduk": "1.234", "jumlah_kk": "310"}]
    with pytest.raises(ImportRejected):  # "1.234" is not a whole number: Indonesian thousands separators
        import_file(admin_loaded, "population", write_csv(tmp_path / "p.csv", rows))
    rows[0]["jumlah_penduduk"] = "1234"
    report = import_file(admin_loaded, "population", write_csv(tmp_path / "p.csv", rows))
    assert report.inserted == 1
    assert _scalar(admin_loaded, "SELECT admin_code FROM admin_population") == "62.07.01.2001"


def test_pilot_records(admin_loaded, tmp_path):
    rows = [{"pilot": "LLTT Uji", "program": "SERUYAN BARASIH", "kode_desa": "62.07.01.2001;62.07.01.2002",
             "periode_mulai": f"01/{m:02d}/2024", "periode_selesai": f"28/{m:02d}/2024",
             "jumlah_penyedotan": "30", "volume_m3": "75,5", "ritase": "30", "pendapatan": "4500000"}
            for m in range(1, 4)]
    report = import_file(admin_loaded, "pilots", write_csv(tmp_path / "p.csv", rows))
    assert report.inserted == 3
    with admin_loaded.connect() as conn:
        pilot = conn.execute(text("SELECT name, village_codes, start_date, end_date FROM pilot")).one()
        total = conn.execute(text("SELECT sum(sludge_m3) FROM pilot_record")).scalar()
    assert pilot[1] == ["62.07.01.2001", "62.07.01.2002"] and str(pilot[2]) == "2024-01-01"
    assert total == pytest.approx(226.5)
    assert import_file(admin_loaded, "pilots", write_csv(tmp_path / "p.csv", rows)).unchanged == 3


def _write_osm(path):
    with osmium.SimpleWriter(str(path)) as writer:
        nodes = [(1, 112.10, -2.90), (2, 112.12, -2.90), (3, 112.14, -2.91), (4, 112.10, -2.80),
                 (5, 112.10, -2.85), (6, 112.11, -2.86)]
        for nid, lon, lat in nodes:
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat)))
        writer.add_way(osmium.osm.mutable.Way(id=10, nodes=[1, 2, 3], tags={"highway": "primary",
                                                                            "name": "Jl. Uji", "maxspeed": "60"}))
        writer.add_way(osmium.osm.mutable.Way(id=11, nodes=[4, 5, 1], tags={"waterway": "river"}))
        writer.add_way(osmium.osm.mutable.Way(id=12, nodes=[5, 6], tags={"highway": "footway"}))
        writer.add_way(osmium.osm.mutable.Way(id=13, nodes=[2, 6], tags={"waterway": "ditch"}))


def test_osm_pbf_network(admin_loaded, tmp_path):
    path = tmp_path / "extract.osm.pbf"
    _write_osm(path)
    report = import_file(admin_loaded, "network", path)
    assert report.inserted == 3  # the ditch is not navigable
    with admin_loaded.connect() as conn:
        rows = conn.execute(text("SELECT source_id, mode, class, speed_kmh, round(length_m) FROM network_edge "
                                 "ORDER BY source_id")).all()
    assert [r[:4] for r in rows] == [("w10", "road", "primary", 60.0), ("w11", "river", "river", None),
                                     ("w12", "path", "footway", None)]
    assert 4600 < rows[0][4] < 4800


def test_dry_run_writes_nothing(admin_loaded, tmp_path):
    before = snapshot(admin_loaded)
    report = import_file(admin_loaded, "households", write_csv(tmp_path / "h.csv", households(10)),
                         ImportOptions(dry_run=True))
    assert report.inserted == 10 and not report.written
    assert snapshot(admin_loaded) == before


def test_field_override(admin_loaded, tmp_path):
    rows = [{"nomor": "X1", "nm": "MCK Pasar", "kategori_x": "mck", "lon": "112.1", "lat": "-2.9"}]
    report = import_file(admin_loaded, "facilities", write_csv(tmp_path / "f.csv", rows),
                         ImportOptions(fields={"source_id": "nomor", "name": "nm", "type": "kategori_x"}))
    assert report.inserted == 1
    assert _scalar(admin_loaded, "SELECT source_id || ':' || status FROM facility") == "X1:existing"


def test_import_log_records_each_import(admin_loaded):
    assert _scalar(admin_loaded, "SELECT count(*) FROM import_log WHERE kind = 'admin'") == 3
