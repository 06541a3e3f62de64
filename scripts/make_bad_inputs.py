"""Build the named corpus of bad and edge-case import files, tests/data/bad_inputs/, from the real
village boundaries of Kabupaten Seruyan (MIT licence; geometry derived from BIG's village data).

    python scripts/make_bad_inputs.py --seruyan DIR [--out tests/data/bad_inputs]

DIR holds kabupaten.geojson, kecamatan.geojson, desa.geojson and crosswalk_villages.csv (the
test data folder the suite reads, GIS_SERVICE_SERUYAN_DATA). The corpus is small derived excerpts:
the regency outline and two districts simplified to about 100 m, the villages of those districts,
and points drawn inside them. ``base/`` is what every case starts from (regency, districts
62.07.01 and 62.07.06, the ten villages of 62.07.01 and two facilities); each case is one file
listed in ``manifest.csv`` with ``file, kind, expect, why, args, report``:

- expect: refuse (exit 2, nothing written), accept (exit 0) or repair (exit 0 with a repair or a
  note saying what was changed);
- args: extra command-line options for ``gis-service import``;
- report: a phrase the import report must contain.

The output is deterministic (fixed seeds); tests/test_import_corpus.py runs every file.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely

BASE_DISTRICTS = ("62.07.01", "62.07.06")
NEW_DISTRICT = "62.07.06"  # its villages are the admin cases' records
OLD_DISTRICT = "62.07.01"  # its villages are in base/: households fall inside them
SIMPLIFY_DEG = 0.001  # about 110 m


class Corpus:
    def __init__(self, out: Path):
        self.out = out
        self.rows: list[dict] = []

    def add(self, file: str, kind: str, expect: str, why: str, report: str, args: str = "") -> Path:
        assert expect in ("refuse", "accept", "repair"), expect
        assert not any(r["file"] == file for r in self.rows), file
        self.rows.append({"file": file, "kind": kind, "expect": expect, "why": why, "args": args,
                          "report": report})
        return self.out / file

    def write_manifest(self) -> None:
        with open(self.out / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["file", "kind", "expect", "why", "args", "report"],
                                    lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.rows)


def _feature_collection(path: Path, frame: gpd.GeoDataFrame, *, geometries=None, crs: str | None = None) -> Path:
    """GeoJSON written by hand, so that geometry can be anything (null, unclosed, 3D)."""
    feats = []
    geoms = geometries if geometries is not None else [shapely.geometry.mapping(g) for g in frame.geometry]
    props = frame.drop(columns="geometry").to_dict("records")
    for p, g in zip(props, geoms):
        feats.append({"type": "Feature", "properties": {k: _plain(v) for k, v in p.items()}, "geometry": g})
    doc = {"type": "FeatureCollection", "features": feats}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def _csv(path: Path, rows: list[dict], *, encoding="utf-8", delimiter=",", bom=b"") -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(bom + buf.getvalue().encode(encoding))
    return path


def _zip_shapefile(path: Path, frame: gpd.GeoDataFrame, *, drop=(), encoding="UTF-8", extra=()) -> Path:
    tmp = path.with_suffix(".d")
    tmp.mkdir(exist_ok=True)
    frame.to_file(tmp / "layer.shp", encoding=encoding)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(tmp.iterdir()):
            if f.suffix.lstrip(".") not in drop:
                zf.write(f, f.name)
        for name, data in extra:
            zf.writestr(name, data)
    shutil.rmtree(tmp)
    return path


def _points_in(polys: gpd.GeoSeries, n: int, rng: np.random.Generator) -> list[shapely.Point]:
    """n points inside the polygons, in turn (deterministic for a seed)."""
    out = []
    polys = list(polys)
    while len(out) < n:
        poly = polys[len(out) % len(polys)]
        x0, y0, x1, y1 = poly.bounds
        p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if poly.contains(p):
            out.append(shapely.Point(round(p.x, 6), round(p.y, 6)))
    return out


def load(seruyan: Path) -> dict:
    kab = gpd.read_file(seruyan / "kabupaten.geojson")
    kec = gpd.read_file(seruyan / "kecamatan.geojson")
    desa = gpd.read_file(seruyan / "desa.geojson")
    cross = pd.read_csv(seruyan / "crosswalk_villages.csv", dtype=str)
    simple = lambda g: gpd.GeoSeries(g, crs=4326).simplify(SIMPLIFY_DEG).make_valid()  # noqa: E731
    kab = kab[["kode", "nama", "geometry"]].assign(geometry=simple(kab.geometry).values)
    kec = kec[kec.kode.isin(BASE_DISTRICTS)][["kode", "nama", "kode_bps", "geometry"]]
    kec = kec.assign(geometry=simple(kec.geometry).values)
    desa = desa[desa.kode_kec.isin(BASE_DISTRICTS)][["kode", "nama", "jenis", "kode_bps", "kode_kec", "geometry"]]
    desa = desa.assign(geometry=simple(desa.geometry).values).sort_values("kode").reset_index(drop=True)
    for frame in (kab, kec, desa):
        assert frame.geometry.is_valid.all()
    return {"kab": kab, "kec": kec, "old": desa[desa.kode_kec == OLD_DISTRICT].drop(columns="kode_kec"),
            "new": desa[desa.kode_kec == NEW_DISTRICT].drop(columns="kode_kec").reset_index(drop=True),
            "cross": cross[cross.kode_kemendagri.str.startswith(NEW_DISTRICT + ".")]}


def write_base(c: Corpus, data: dict, rng) -> list[dict]:
    base = c.out / "base"
    base.mkdir(parents=True, exist_ok=True)
    _feature_collection(base / "1_kabupaten.geojson", data["kab"])
    _feature_collection(base / "2_kecamatan.geojson", data["kec"])
    _feature_collection(base / "3_desa.geojson", data["old"])
    pts = _points_in(data["old"].geometry, 2, rng)
    facilities = [{"id": "IPLT-01", "nama": "IPLT Kuala Pembuang", "jenis": "iplt", "kapasitas": "20 m3/hari",
                   "iplt_tujuan": "", "lon": pts[0].x, "lat": pts[0].y},
                  {"id": "DEPO-01", "nama": "Depo Sedot Tinja", "jenis": "depot", "iplt_tujuan": "IPLT-01",
                   "kapasitas": "", "lon": pts[1].x, "lat": pts[1].y}]
    _csv(base / "4_facilities.csv", facilities)
    return facilities


def admin_cases(c: Corpus, data: dict) -> None:
    new = data["new"]
    n = len(new)
    geo = lambda g: shapely.geometry.mapping(g)  # noqa: E731
    first = new.geometry.iloc[0]
    ring = list(first.exterior.coords) if first.geom_type == "Polygon" else list(first.geoms[0].exterior.coords)
    x0, y0, x1, y1 = first.bounds
    cx, cy = first.representative_point().x, first.representative_point().y
    w, h = (x1 - x0) / 4, (y1 - y0) / 4

    def with_first(geometry) -> list:
        return [geometry] + [geo(g) for g in new.geometry.iloc[1:]]

    _feature_collection(c.add("desa_ok.geojson", "admin", "accept", "the real villages of Seruyan Hilir Timur as "
                              "published (GeoJSON)", f"inserted {n}"), new)
    new.to_file(c.add("desa_ok.gpkg", "admin", "accept", "the same villages as a GeoPackage", f"inserted {n}"),
                layer="desa")
    _zip_shapefile(c.add("desa_shp.zip", "admin", "accept", "a zipped Shapefile with .prj and .cpg",
                         f"inserted {n}"), new)
    _zip_shapefile(c.add("desa_latin1_shp.zip", "admin", "accept", "a zipped Shapefile whose .dbf is Latin-1, "
                         "declared in its .cpg", f"inserted {n}"),
                   new.assign(nama=new.nama + " Tanggé"), encoding="latin1")
    _zip_shapefile(c.add("desa_no_prj.zip", "admin", "refuse", "a Shapefile without .prj: the CRS is unknown",
                         "no coordinate reference system"), new, drop=("prj",))
    _zip_shapefile(c.add("desa_no_prj_crs.zip", "admin", "accept", "the same, with the CRS given by --crs",
                         f"inserted {n}", "--crs EPSG:4326"), new, drop=("prj",))
    _zip_shapefile(c.add("desa_two_shp.zip", "admin", "refuse", "a zip holding two Shapefiles",
                         "must hold exactly one .shp"), new, extra=[("other.shp", b"")])
    c.add("desa_bad_zip.zip", "admin", "refuse", "a damaged zip archive",
          "not a readable zip archive").write_bytes(b"PK\x03\x04 truncated")
    new.to_crs(32749).to_file(c.add("desa_utm.gpkg", "admin", "accept", "villages in UTM 49S (EPSG:32749), "
                                     "declared", "reprojected from EPSG:32749 to EPSG:4326"), layer="desa")
    utm = new.to_crs(32749)
    _feature_collection(c.add("desa_metres_as_degrees.geojson", "admin", "refuse", "UTM metres in a GeoJSON, "
                              "which declares degrees", "look like metres"), utm)
    new.set_crs(32749, allow_override=True).to_file(
        c.add("desa_degrees_as_metres.gpkg", "admin", "refuse", "degrees declared as UTM metres",
              "look like degrees"), layer="desa")
    swapped = new.assign(geometry=new.geometry.map(lambda g: shapely.transform(g, lambda a: a[:, ::-1])))
    _feature_collection(c.add("desa_swapped.geojson", "admin", "refuse", "latitude written first",
                              "look swapped"), swapped)
    _feature_collection(c.add("desa_swapped_fixed.geojson", "admin", "accept", "latitude first, with --swap-xy",
                              f"inserted {n}", "--swap-xy"), swapped)
    _feature_collection(c.add("desa_outside_region.geojson", "admin", "refuse", "the villages moved to Java",
                              "lies outside"),
                        new.assign(geometry=new.geometry.translate(-5.5, -3.5)))
    z = [{"type": g["type"], "coordinates": _add_z(g["coordinates"])} for g in (geo(g) for g in new.geometry)]
    _feature_collection(c.add("desa_3d.geojson", "admin", "repair", "3D polygons (Z = 25 m): Z is dropped",
                              "had Z (height) or M values: dropped"), new, geometries=z)
    unclosed = [[list(p) for p in ring[:-1]]]
    _feature_collection(c.add("desa_unclosed_ring.geojson", "admin", "repair", "a ring whose last point is not its "
                              "first: closed", "ring not closed"), new,
                        geometries=with_first({"type": "Polygon", "coordinates": unclosed}))
    bowtie = [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]
    _feature_collection(c.add("desa_bowtie.geojson", "admin", "refuse", "a ring crossing itself (bow-tie): "
                              "make_valid would make two parts", "makes 2 polygon part(s)"), new,
                        geometries=with_first({"type": "Polygon", "coordinates": bowtie}))
    star = [[cx + 2 * w * np.cos(a), cy + 2 * h * np.sin(a)] for a in np.pi / 2 + np.arange(5) * 4 * np.pi / 5]
    _feature_collection(c.add("desa_folded_ring.geojson", "admin", "refuse", "a boundary whose ring folds onto "
                              "itself (a pentagram): make_valid would split it into parts of another area",
                              "cannot be repaired safely"), new,
                        geometries=with_first({"type": "Polygon", "coordinates": [star + [star[0]]]}))
    hole = [[x1 + w, y0], [x1 + 2 * w, y0], [x1 + 2 * w, y0 + h], [x1 + w, y0 + h], [x1 + w, y0]]
    _feature_collection(c.add("desa_hole_outside.geojson", "admin", "refuse", "a hole lying outside its shell",
                              "makes 2 polygon part(s)"), new,
                        geometries=with_first({"type": "Polygon", "coordinates": [[list(p) for p in ring], hole]}))
    k = len(ring) // 3
    tip = (ring[k][0] + 0.2 * (ring[k][0] - cx), ring[k][1] + 0.2 * (ring[k][1] - cy))  # outwards
    spike = ring[:k] + [ring[k], tip, ring[k]] + ring[k + 1:]
    _feature_collection(c.add("desa_spike.geojson", "admin", "repair", "a zero-width spike on the boundary: "
                              "make_valid drops it, parts and area kept", "repaired with make_valid"), new,
                        geometries=with_first({"type": "Polygon", "coordinates": [[list(p) for p in spike]]}))
    sq = [[x0, y0], [x1, y0], [x1, y1], [cx, y1], [cx + w, cy], [cx, cy - h], [cx - w, cy], [cx, y1],
          [x0, y1], [x0, y0]]
    _feature_collection(c.add("desa_self_touching.geojson", "admin", "repair", "a ring touching itself at a "
                              "point (an inverted hole): repaired into a polygon with a hole, same area",
                              "Ring Self-intersection"), new,
                        geometries=with_first({"type": "Polygon", "coordinates": [sq]}))
    _feature_collection(c.add("desa_null_geometry.geojson", "admin", "refuse", "one feature with null geometry",
                              "no geometry"), new, geometries=with_first(None))
    _feature_collection(c.add("desa_empty_geometry.geojson", "admin", "refuse", "one feature with empty "
                              "coordinates", "no geometry"), new,
                        geometries=with_first({"type": "Polygon", "coordinates": []}))
    _feature_collection(c.add("desa_point_geometry.geojson", "admin", "refuse", "a village given as a point",
                              "geometry is a Point"), new,
                        geometries=with_first({"type": "Point", "coordinates": [cx, cy]}))
    _feature_collection(c.add("desa_dashed_codes.geojson", "admin", "repair", "codes written 62-07-06-2001: read "
                              "as dotted codes", "read as dotted Kemendagri codes"),
                        new.assign(kode=new.kode.str.replace(".", "-")))
    plain = new.assign(kode=new.kode.str.replace(".", ""))
    _feature_collection(c.add("desa_plain_codes.geojson", "admin", "refuse", "codes without dots: BPS or "
                              "Kemendagri?", "has no dots"), plain)
    _feature_collection(c.add("desa_plain_codes_declared.geojson", "admin", "accept", "codes without dots, "
                              "declared Kemendagri by --plain-codes", f"inserted {n}", "--plain-codes"), plain)
    _feature_collection(c.add("desa_malformed_code.geojson", "admin", "refuse", "a code 62.7.6.1",
                              "is not a Kemendagri code"),
                        new.assign(kode=["62.7.6.1"] + list(new.kode.iloc[1:])))
    _feature_collection(c.add("desa_duplicate_code.geojson", "admin", "refuse", "two villages with one code",
                              "duplicate code"), new.assign(kode=[new.kode.iloc[1]] + list(new.kode.iloc[1:])))
    _feature_collection(c.add("desa_unknown_parent.geojson", "admin", "refuse", "villages of a district that is "
                              "not loaded", "unknown parent code 62.07.99"),
                        new.assign(kode=new.kode.str.replace(NEW_DISTRICT, "62.07.99")))
    big = new.rename(columns={"kode": "KDEPUM", "nama": "WADMKD", "kode_bps": "KDBBPS"})
    _feature_collection(c.add("desa_big_field_names.geojson", "admin", "accept", "BIG's field names KDEPUM, "
                              "WADMKD, KDBBPS", "code <- KDEPUM"), big)
    _feature_collection(c.add("desa_extra_column.geojson", "admin", "accept", "an extra column the importer "
                              "does not use: the report names it", "catatan_petugas"),
                        new.assign(catatan_petugas="dicek 2024"))
    _feature_collection(c.add("desa_no_name.geojson", "admin", "refuse", "no name column at all",
                              "no column for 'name'"), new.drop(columns="nama"))
    text = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "kode": new.kode.iloc[0]}, "geometry": geo(first)}]})
    c.add("desa_truncated.geojson", "admin", "refuse", "a GeoJSON cut off mid-way", "cannot be").write_text(
        text[: len(text) // 2], encoding="utf-8")
    c.add("desa_text_named.gpkg", "admin", "refuse", "a text file named .gpkg", "cannot be opened").write_text(
        "kode,nama\n62.07.06.2001,Desa\n", encoding="utf-8")
    c.add("desa_empty_file.geojson", "admin", "refuse", "a file of 0 bytes", "is empty").write_bytes(b"")
    _feature_collection(c.add("desa_no_features.geojson", "admin", "refuse", "a FeatureCollection without "
                              "features", "has no records"), new.iloc[:0])
    layered = c.add("desa_two_layers.gpkg", "admin", "refuse", "a GeoPackage of two layers, none chosen",
                    "choose one with --layer")
    new.to_file(layered, layer="desa")
    data["kec"].to_file(layered, layer="kecamatan")
    layered2 = c.add("desa_two_layers_chosen.gpkg", "admin", "accept", "the same, with --layer desa",
                     f"inserted {n}", "--layer desa")
    new.to_file(layered2, layer="desa")
    data["kec"].to_file(layered2, layer="kecamatan")
    _csv(c.add("desa_level_conflict.csv", "admin", "refuse", "a level column that contradicts the code",
               "is a village code"), [{"kode": k, "nama": v, "tingkat": "kecamatan"}
                                      for k, v in zip(new.kode, new.nama)])
    cross = data["cross"]
    _csv(c.add("crosswalk.csv", "admin", "accept", "the Kemendagri-BPS crosswalk of the villages, no geometry",
               "bps_code <- kode_bps"), [{"kode_kemendagri": k, "nama_kemendagri": v, "kode_bps": b}
                                        for k, v, b in zip(cross.kode_kemendagri, cross.nama_kemendagri,
                                                           cross.kode_bps)])
    _csv(c.add("crosswalk_duplicate_bps.csv", "admin", "refuse", "one BPS code given to two villages",
               "duplicate bps_code"), [{"kode_kemendagri": k, "nama_kemendagri": v, "kode_bps": cross.kode_bps.iloc[0]}
                                       for k, v in zip(cross.kode_kemendagri, cross.nama_kemendagri)])


def _add_z(coords):
    if coords and isinstance(coords[0], (int, float)):
        return [*coords, 25.0]
    return [_add_z(c) for c in coords]


def household_cases(c: Corpus, data: dict, rng) -> None:
    old = data["old"]
    pts = _points_in(old.geometry, 12, rng)
    rungs = ["aman", "Layak Sendiri", "layak bersama", "belum layak", "BABS"]

    def rows(**over) -> list[dict]:
        out = [{"household_id": f"RT-{i:03d}", "lon": p.x, "lat": p.y, "akses_sanitasi": rungs[i % 5],
                "persons": str(2 + i % 5)} for i, p in enumerate(pts)]
        for key, (i, value) in over.items():
            out[i][key] = value
        return out

    def hh(file, expect, why, report, table=None, args="", **kw):
        _csv(c.add(file, "households", expect, why, report, args), table or rows(), **kw)

    kobo = [{"start": "2024-03-01T08:00:00", "_lokasi_rumah_latitude": p.y, "_lokasi_rumah_longitude": p.x,
             "_lokasi_rumah_altitude": "12", "_lokasi_rumah_precision": "4.5", "household_id": f"KB{i:03d}",
             "persons": str(3 + i % 4), "akses_sanitasi": rungs[i % 5], "_uuid": f"u-{i:04d}", "_index": str(i),
             "_submission_time": "2024-03-01T09:00:00", "nama_enumerator": "Sari"} for i, p in enumerate(pts)]
    hh("kobo_export.csv", "accept", "a KoboToolbox export: geopoint columns, household_id and persons "
       "(household sizes kept, not replaced by the default)", "members <- persons", kobo)
    hh("kobo_export_unused.csv", "accept", "the same export: Kobo's bookkeeping columns are listed as not used",
       "columns NOT used (4): start, _uuid, _index, nama_enumerator", kobo)
    hh("excel_id_locale.csv", "accept", "Excel with Indonesian regional settings: semicolons, decimal commas, "
       "id_rt and jumlah_jiwa", "decimal commas",
       [{"id_rt": f"R{i}", "bujur": f"{p.x:.6f}".replace(".", ","), "lintang": f"{p.y:.6f}".replace(".", ","),
         "jumlah_jiwa": str(2 + i % 6), "akses": rungs[i % 5]} for i, p in enumerate(pts)], delimiter=";")
    names = [{"no_kk": f"6207{i:012d}", "nama_kk": f"Andreé Ñoer {i}", "lon": p.x, "lat": p.y,
              "jml_jiwa": str(4)} for i, p in enumerate(pts)]
    hh("windows_1252.csv", "accept", "a Windows-1252 file (é, Ñ in names)", "encoding: Windows-1252", names,
       encoding="cp1252")
    hh("utf8_bom.csv", "accept", "UTF-8 with a byte-order mark (Excel's 'CSV UTF-8')",
       "encoding: UTF-8 with a byte-order mark", names, bom=b"\xef\xbb\xbf")
    hh("utf16.csv", "accept", "UTF-16 with a byte-order mark (Excel's 'Unicode text')", "encoding: UTF-16",
       names, encoding="utf-16")
    wkt = [{"hh_id": f"W{i}", "nama_kk": f"Suryadé {i}", "wkt": f"POINT ({p.x} {p.y})", "people": "5"}
           for i, p in enumerate(pts)]
    hh("wkt_degrees_latin1.csv", "accept", "a Latin-1 CSV whose WKT is in degrees inside the region: taken as "
       "EPSG:4326 with a note", "taken as EPSG:4326", wkt, encoding="latin-1")
    utm = gpd.GeoSeries(pts, crs=4326).to_crs(32749)
    wkt_m = [{"hh_id": f"M{i}", "wkt": f"POINT ({p.x:.1f} {p.y:.1f})"} for i, p in enumerate(utm)]
    hh("wkt_metres.csv", "refuse", "WKT in UTM metres without --crs", "Pass --crs", wkt_m)
    hh("wkt_metres_with_crs.csv", "accept", "the same with --crs EPSG:32749",
       "reprojected from EPSG:32749", wkt_m, args="--crs EPSG:32749")
    hh("xy_metres.csv", "refuse", "x/y columns in metres without --crs", "Pass --crs",
       [{"hh_id": f"X{i}", "x": f"{p.x:.1f}", "y": f"{p.y:.1f}"} for i, p in enumerate(utm)])
    hh("lonlat_swapped.csv", "refuse", "longitude and latitude columns swapped", "look swapped",
       [{**r, "lon": r["lat"], "lat": r["lon"]} for r in rows()])
    hh("lonlat_in_metres.csv", "refuse", "lon/lat columns holding UTM metres", "look like metres",
       [{**r, "lon": f"{p.x:.1f}", "lat": f"{p.y:.1f}"} for r, p in zip(rows(), utm)])
    hh("outside_region.csv", "refuse", "points in Jakarta", "lies outside",
       [{**r, "lon": 106.8, "lat": -6.2} for r in rows()])
    hh("persons_negative.csv", "refuse", "a negative household size", "is negative",
       rows(persons=(3, "-4")))
    hh("persons_zero.csv", "refuse", "a household of zero persons", "value '0' is zero", rows(persons=(4, "0")))
    hh("persons_text.csv", "refuse", "a household size written in words", "'empat' is not a whole number",
       rows(persons=(5, "empat")))
    hh("persons_huge.csv", "refuse", "a household size of 99,999,999,999 (beyond any integer column)",
       "is above 200", rows(persons=(6, "99999999999")))
    hh("persons_fraction.csv", "refuse", "a household size of 4.5", "is not a whole number",
       rows(persons=(7, "4.5")))
    hh("duplicate_ids.csv", "refuse", "two households with one id", "duplicate source_id RT-001",
       rows(household_id=(2, "RT-001")))
    hh("unknown_village.csv", "refuse", "a village code that does not exist", "unknown village code 62.07.01.2999",
       [{**r, "kode_desa": "62.07.01.2999" if i == 1 else ""} for i, r in enumerate(rows())])
    hh("missing_coordinates.csv", "refuse", "a row with empty coordinates", "no geometry",
       rows(lon=(8, ""), lat=(8, "")))
    hh("nan_coordinates.csv", "refuse", "coordinates written 'nan'", "no geometry", rows(lon=(9, "nan")))
    hh("unknown_rung.csv", "refuse", "an access rung that is not on the ladder", "is not a known ladder rung",
       rows(akses_sanitasi=(10, "entah")))
    hh("impossible_date.csv", "refuse", "a survey date of 31 February", "is not a date",
       [{**r, "tanggal_survei": "31/02/2024"} for r in rows()])
    hh("no_id.csv", "accept", "no id column: households keyed by their location", "keyed by their location",
       [{k: v for k, v in r.items() if k != "household_id"} for r in rows()])
    hh("households.tsv", "accept", "a tab-separated file", "inserted 12", delimiter="\t")
    body = "household_id,lon,lat,persons\n" + "".join(f"H{i},{p.x},{p.y},3\n" for i, p in enumerate(pts))
    c.add("unterminated_quote.csv", "households", "refuse", "a quote never closed", "not a well-formed CSV") \
        .write_text(body + 'H99,"112.5,-3.3,3\n', encoding="utf-8")
    c.add("too_many_fields.csv", "households", "refuse", "a row with more fields than the header",
          "not a well-formed CSV").write_text(body + "H98,112.5,-3.3,3,extra,more\n", encoding="utf-8")
    c.add("header_only.csv", "households", "refuse", "a header and no rows", "has no records") \
        .write_text("household_id,lon,lat,persons\n", encoding="utf-8")
    c.add("xlsx_renamed.csv", "households", "refuse", "an Excel workbook renamed .csv", "is not a text file") \
        .write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(200))
    c.add("duplicate_header.csv", "households", "refuse", "two columns named persons", "more than once") \
        .write_text("household_id,lon,lat,persons,persons\nH1,112.5,-3.3,3,4\n", encoding="utf-8")
    c.add("unsupported.ods", "households", "refuse", "a format the importer does not read",
          "unsupported format").write_bytes(b"PK\x03\x04" + bytes(100))
    c.add("damaged.xlsx", "households", "refuse", "an Excel workbook that is not one (a damaged file)",
          "cannot be read as an Excel workbook").write_bytes(b"PK\x03\x04" + bytes(100))
    footprints = gpd.GeoDataFrame({"household_id": [f"B{i}" for i in range(len(pts))]},
                                  geometry=[p.buffer(0.0001, 4) for p in pts], crs=4326)
    _feature_collection(c.add("building_footprints.geojson", "households", "accept", "building footprints: "
                              "each becomes a point on its surface", "converted to a point"), footprints)
    multi = gpd.GeoDataFrame({"household_id": ["MP1"]}, geometry=[shapely.MultiPoint(pts[:2])], crs=4326)
    _feature_collection(c.add("multipoint.geojson", "households", "refuse", "one record holding two points",
                              "a MultiPoint with several points"), multi)


def facility_cases(c: Corpus, data: dict, rng) -> None:
    pts = _points_in(data["old"].geometry, 4, rng)

    def fac(file, expect, why, report, table, args=""):
        _csv(c.add(file, "facilities", expect, why, report, args), table)

    base = [{"facility_id": f"MCK-{i}", "jenis": "mck", "lon": p.x, "lat": p.y} for i, p in enumerate(pts)]
    fac("ids_without_names.csv", "accept", "facility ids but no name column: the id becomes the name",
        "take their source_id as their name", base)
    fac("no_name_no_id.csv", "refuse", "neither a name nor an id column", "no column for 'name'",
        [{k: v for k, v in r.items() if k != "facility_id"} for r in base])
    fac("unknown_type.csv", "refuse", "a facility type not in the vocabulary", "is not a known type",
        [{**r, "jenis": "kolam oksidasi"} for r in base])
    fac("negative_capacity.csv", "refuse", "a negative capacity", "is not a number",
        [{**r, "kapasitas": "-20 m3/hari"} for r in base])
    fac("capacity_without_unit.csv", "refuse", "a capacity with no unit", "has no unit",
        [{**r, "kapasitas": "20"} for r in base])
    fac("year_typo.csv", "refuse", "a year built of 20224", "is above 2100", [{**r, "tahun": "20224"} for r in base])
    fac("negative_capex.csv", "refuse", "a negative investment cost", "is negative",
        [{**r, "biaya_investasi": "-5000000"} for r in base])
    fac("feeds_unknown_iplt.csv", "refuse", "a depot delivering to an IPLT that does not exist",
        "feeds unknown IPLT", [{**base[0], "jenis": "depot", "iplt_tujuan": "IPLT-99"}])
    frame = gpd.GeoDataFrame({"id": ["IPLT-02", "DEPO-02"], "nama": ["IPLT Baru", "Depo Baru"],
                              "jenis": ["iplt", "depot"], "iplt_tujuan": [None, "IPLT-02"],
                              "kapasitas": ["15 m3/hari", None]}, geometry=pts[:2], crs=4326)
    frame.to_file(c.add("iplt_and_depot.gpkg", "facilities", "accept", "an IPLT and the depot that feeds it",
                        "inserted 2"), layer="fasilitas")
    z = [{"type": "Point", "coordinates": [p.x, p.y, 30.0]} for p in pts]
    _feature_collection(c.add("points_3d.geojson", "facilities", "repair", "3D points: Z dropped",
                              "had Z (height) or M values"), frame.iloc[[0, 0, 0, 0]].assign(
        id=[f"Z{i}" for i in range(4)], iplt_tujuan=None), geometries=z)
    line = gpd.GeoDataFrame({"id": ["L1"], "nama": ["Saluran"], "jenis": ["mck"]},
                            geometry=[shapely.LineString(pts[:2])], crs=4326)
    _feature_collection(c.add("line_facility.geojson", "facilities", "refuse", "a facility drawn as a line",
                              "geometry is a LineString"), line)


def network_cases(c: Corpus, data: dict, rng) -> None:
    pts = _points_in(data["old"].geometry, 6, rng)
    roads = [{"id": f"J{i}", "mode": "road", "kelas": "tertiary",
              "wkt": f"LINESTRING ({a.x} {a.y}, {b.x} {b.y})"} for i, (a, b) in enumerate(zip(pts, pts[1:]))]
    _csv(c.add("negative_speed.csv", "network", "refuse", "a road with a speed of -30 km/h", "is negative"),
         [{**r, "kecepatan": "-30"} for r in roads])
    _csv(c.add("zero_speed.csv", "network", "refuse", "a road with a speed of 0 km/h", "is zero"),
         [{**r, "kecepatan": "0"} for r in roads])
    _csv(c.add("roads_wkt.csv", "network", "accept", "roads as WKT in degrees, no --crs", "taken as EPSG:4326"),
         roads)
    multi = gpd.GeoDataFrame({"id": ["ML1"], "mode": ["river"]},
                             geometry=[shapely.MultiLineString([pts[:2], pts[2:4]])], crs=4326)
    _feature_collection(c.add("multiline.geojson", "network", "accept", "a MultiLineString: one edge per part",
                              "multi-part lines split"), multi)
    poly = gpd.GeoDataFrame({"id": ["P1"], "mode": ["road"]}, geometry=[data["old"].geometry.iloc[0]], crs=4326)
    _feature_collection(c.add("polygon_network.geojson", "network", "refuse", "a road drawn as a polygon",
                              "this layer takes line geometries"), poly)
    dup = gpd.GeoDataFrame({"id": ["D1"], "mode": ["road"]}, geometry=[shapely.LineString([pts[0], pts[0]])],
                           crs=4326)
    _feature_collection(c.add("zero_length_line.geojson", "network", "refuse", "a line whose two points are one",
                              "cannot be repaired safely"), dup)
    c.add("text_named.osm.pbf", "network", "refuse", "a text file named .osm.pbf",
          "not a readable OpenStreetMap extract").write_text("<osm>this is not PBF</osm>\n", encoding="utf-8")
    path = c.add("tiny.osm.pbf", "network", "accept", "a small OpenStreetMap extract: a road and a river",
                 "OpenStreetMap: 2 ways kept")
    if path.exists():
        path.unlink()
    with osmium.SimpleWriter(str(path)) as writer:
        for nid, p in enumerate(pts[:4], start=1):
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=(p.x, p.y)))
        writer.add_way(osmium.osm.mutable.Way(id=10, nodes=[1, 2], tags={"highway": "secondary"}))
        writer.add_way(osmium.osm.mutable.Way(id=11, nodes=[3, 4], tags={"waterway": "river"}))


def table_cases(c: Corpus, data: dict, rng) -> None:
    codes = list(data["old"].kode)
    pop = [{"kode": k, "tahun": "2024", "jumlah_penduduk": f"{1000 + 37 * i:,}".replace(",", "."),
            "jumlah_kk": str(300 + i)} for i, k in enumerate(codes)]
    _csv(c.add("population_id_locale.csv", "population", "accept", "a BPS table from Excel (id-ID): "
               "semicolons and 1.037 for one thousand and thirty-seven", "decimal commas"), pop, delimiter=";")
    _csv(c.add("population_negative.csv", "population", "refuse", "a negative population", "is negative"),
         [{**r, "jumlah_penduduk": "-5"} for r in pop], delimiter=";")
    _csv(c.add("population_text.csv", "population", "refuse", "a population written 'n/a'",
               "is not a whole number"), [{**r, "jumlah_penduduk": "n/a"} for r in pop])
    no_year = [{k: v for k, v in r.items() if k != "tahun"} for r in pop]
    _csv(c.add("population_no_year.csv", "population", "refuse", "no year column", "no year"), no_year,
         delimiter=";")
    _csv(c.add("population_year_option.csv", "population", "accept", "no year column, --year given",
               f"inserted {len(codes)}", "--year 2024"), no_year, delimiter=";")
    pilot = [{"pilot": "LLTT Seruyan Barasih", "periode_mulai": "2024-01-01", "periode_selesai": "2024-03-31",
              "kode_desa": ";".join(codes[:3]), "jumlah_penyedotan": "42", "volume_m3": "126,5", "ritase": "30"}]
    _csv(c.add("pilots_ok.csv", "pilots", "accept", "a quarter of the desludging trial", "inserted 1"), pilot)
    _csv(c.add("pilots_reversed_period.csv", "pilots", "refuse", "a period that ends before it starts",
               "before it starts"), [{**pilot[0], "periode_selesai": "2023-12-31"}])
    _csv(c.add("pilots_negative.csv", "pilots", "refuse", "a negative number of emptyings", "is negative"),
         [{**pilot[0], "jumlah_penyedotan": "-3"}])
    risk = [{"kode_desa": k, "tahun": "2024", "kelas_risiko": str(1 + i % 4), "irs": f"{150 + i}"}
            for i, k in enumerate(codes)]
    _csv(c.add("risk_ok.csv", "risk", "accept", "EHRA classes of the villages", f"inserted {len(codes)}"), risk)
    _csv(c.add("risk_class_5.csv", "risk", "refuse", "an EHRA class 5 (classes run 1 to 4)", "is not 1-4"),
         [{**r, "kelas_risiko": "5"} for r in risk])
    pts = _points_in(data["old"].geometry, 3, rng)
    sett = [{"id": f"K{i}", "nama": f"Kampung {i}", "lon": p.x, "lat": p.y, "penduduk": "120"}
            for i, p in enumerate(pts)]
    _csv(c.add("settlements_ok.csv", "settlements", "accept", "settlement points", "inserted 3"), sett)
    _csv(c.add("settlements_negative.csv", "settlements", "refuse", "a negative population", "is negative"),
         [{**r, "penduduk": "-120"} for r in sett])
    areas = gpd.GeoDataFrame({"id": ["A1"], "fasilitas": ["IPLT-01"], "nama": ["Wilayah IPLT"]},
                             geometry=[data["old"].geometry.iloc[0]], crs=4326)
    _feature_collection(c.add("service_area_ok.geojson", "service_areas", "accept", "an area drawn for the IPLT",
                              "inserted 1"), areas)
    _feature_collection(c.add("service_area_unknown_facility.geojson", "service_areas", "refuse",
                              "an area for a facility that does not exist", "unknown facility 'IPLT-77'"),
                        areas.assign(fasilitas="IPLT-77"))
    x0, y0, x1, y1 = data["old"].geometry.iloc[0].bounds
    bow = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
    _feature_collection(c.add("service_area_bowtie.geojson", "service_areas", "refuse", "a drawn area crossing "
                              "itself", "makes 2 polygon part(s)"), areas, geometries=[bow])


def review_cases(c: Corpus, data: dict, rng) -> None:
    """Cases an adversarial review found (each was a crash or a silent wrong value once)."""
    new, old = data["new"], data["old"]
    pts = _points_in(old.geometry, 3, rng)
    _csv(c.add("capacity_id_locale.csv", "facilities", "accept", "an id-ID export: capacity 1.200 m3/hari is one "
               "thousand two hundred, capex 1.500.000.000", "decimal commas"),
         [{"id": "IPLT-9", "nama": "IPLT Besar", "jenis": "iplt", "kapasitas": "1.200 m3/hari",
           "biaya_investasi": "1.500.000.000", "lon": f"{pts[0].x:.6f}".replace(".", ","),
           "lat": f"{pts[0].y:.6f}".replace(".", ",")}], delimiter=";")
    cross = data["cross"]
    _csv(c.add("crosswalk_scientific_bps.csv", "admin", "refuse", "BPS codes that a spreadsheet wrote as "
               "6.20806E+09 (digits lost)", "is not a BPS code"),
         [{"kode_kemendagri": k, "nama_kemendagri": v, "kode_bps": f"{int(b):.5E}".replace("E+0", "E+")}
          for k, v, b in zip(cross.kode_kemendagri, cross.nama_kemendagri, cross.kode_bps)])
    _csv(c.add("coordinate_typo.csv", "households", "refuse", "one longitude with a misplaced decimal point "
               "(1124.9): that row is named, not the whole file", "row 2 (T1): coordinates x=1124.9"),
         [{"household_id": f"T{i}", "lon": ("1124.9" if i == 1 else p.x), "lat": p.y} for i, p in enumerate(pts)])
    _csv(c.add("xy_with_phone_numbers.csv", "households", "accept", "x/y in UTM beside a phone number column "
               "(0812 3456 7890 is not a Kobo geopoint)", "geometry <- x/y", "--crs EPSG:32749"),
         [{"household_id": f"P{i}", "x": f"{p.x:.1f}", "y": f"{p.y:.1f}", "no_hp": f"0812 3456 78{i:02d}"}
          for i, p in enumerate(gpd.GeoSeries(pts, crs=4326).to_crs(32749))])
    _csv(c.add("roads_wkt_semicolon.csv", "network", "accept", "a semicolon file with GDAL-style WKT (no space "
               "after the commas)", "decimal points"),
         [{"id": "J1", "mode": "road", "wkt": f"LINESTRING ({pts[0].x} {pts[0].y},{pts[1].x} {pts[1].y})"}],
         delimiter=";")
    first = new.geometry.iloc[0]
    poly = first if first.geom_type == "Polygon" else first.geoms[0]
    ring = list(poly.exterior.coords)
    cx, cy = poly.representative_point().x, poly.representative_point().y
    k = len(ring) // 3
    tip = (ring[k][0] + 0.2 * (ring[k][0] - cx), ring[k][1] + 0.2 * (ring[k][1] - cy))
    spike = ring[:k] + [ring[k], tip, ring[k]] + ring[k + 1:]
    x0, y0, x1, y1 = poly.bounds
    island = [[x1 + 0.01, y0], [x1 + 0.012, y0], [x1 + 0.012, y0 + 0.002], [x1 + 0.01, y0 + 0.002], [x1 + 0.01, y0]]
    geometry = {"type": "MultiPolygon", "coordinates": [[[list(p) for p in spike]], [island]]}
    _feature_collection(c.add("desa_spike_and_island.geojson", "admin", "repair", "a village with a small island "
                              "and a spike on its main part: each part is repaired on its own, the island kept",
                              "into a MultiPolygon of 2 part(s)"), new.iloc[:1], geometries=[geometry])
    multi = gpd.GeoDataFrame({"id": ["R1", "R1"], "mode": ["road", "road"]},
                             geometry=[shapely.MultiLineString([pts[:2], pts[1:]])] * 2, crs=4326)
    multi.to_file(c.add("multilines_duplicate_ids.gpkg", "network", "refuse", "two multi-part roads with one id "
                        "(QGIS saves lines as MultiLineString)", "duplicate source_id R1#1"), layer="jalan")
    props = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "household_id": "L1", "akses_sanitasi": ["aman"], "persons": {"n": 3}},
        "geometry": {"type": "Point", "coordinates": [pts[0].x, pts[0].y]}}]}
    c.add("array_property.geojson", "households", "refuse", "GeoJSON properties holding an array and an object",
          "is not a known ladder rung").write_text(json.dumps(props), encoding="utf-8")
    _csv(c.add("id_too_long.csv", "households", "refuse", "an id of 5,000 characters", "holds 5,000 characters"),
         [{"household_id": "X" * 5000, "lon": pts[0].x, "lat": pts[0].y}])
    _csv(c.add("date_with_junk.csv", "households", "refuse", "a survey date followed by other text",
               "is not a date"), [{"household_id": "D1", "lon": pts[0].x, "lat": pts[0].y,
                                   "tanggal_survei": "2024-01-01xyz"}])
    _zip_shapefile(c.add("desa_mac_zip.zip", "admin", "accept", "a zip made on a Mac (__MACOSX/._layer.shp beside "
                         "the Shapefile)", f"inserted {len(new)}"), new,
                   extra=[("__MACOSX/._layer.shp", b"\x00\x05\x16\x07")])
    body = "household_id;lon;lat\n" + "".join(f"E{i};{p.x:.6f};{p.y:.6f}\n".replace(".", ",") for i, p in enumerate(pts))
    c.add("excel_sep_line.csv", "households", "accept", "Excel's 'sep=;' first line and a blank line before it",
          "inserted 3").write_text("\nsep=;\n" + body, encoding="utf-8")
    c.add("bom_then_latin1.csv", "households", "accept", "a UTF-8 byte-order mark followed by Windows-1252 text",
          "source_id <- household_id").write_bytes(b"\xef\xbb\xbf" + ("household_id,nama_kk,lon,lat\n" + "".join(
              f"B{i},Andr\u00e9,{p.x},{p.y}\n" for i, p in enumerate(pts))).encode("cp1252"))
    _csv(c.add("skip_bad_all_bad.csv", "households", "refuse", "--skip-bad where every record is bad: nothing "
               "to write is a refusal", "is not a whole number", "--skip-bad"),
         [{"household_id": f"S{i}", "lon": p.x, "lat": p.y, "persons": "banyak"} for i, p in enumerate(pts)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seruyan", type=Path, default=os.environ.get("GIS_SERVICE_SERUYAN_DATA"),
                        help="folder of the real Seruyan boundaries (or GIS_SERVICE_SERUYAN_DATA)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "tests" / "data"
                        / "bad_inputs")
    args = parser.parse_args()
    if args.seruyan is None:
        parser.error("give --seruyan DIR (or set GIS_SERVICE_SERUYAN_DATA)")
    build(args.seruyan, args.out)
    print(f"wrote {args.out}")


def build(seruyan: Path, out: Path) -> list[dict]:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = np.random.default_rng(6207)
    data = load(seruyan)
    c = Corpus(out)
    write_base(c, data, rng)
    admin_cases(c, data)
    household_cases(c, data, rng)
    facility_cases(c, data, rng)
    network_cases(c, data, rng)
    table_cases(c, data, rng)
    review_cases(c, data, rng)
    c.write_manifest()
    (out / "README.md").write_text(README, encoding="utf-8")
    return c.rows


README = """# Bad and edge-case import files

Made by `scripts/make_bad_inputs.py` (do not edit by hand: change the script and run it again) and run
by `tests/test_import_corpus.py`. `manifest.csv` lists every file with its kind, what the importer must
do with it (`refuse`: exit 2 and nothing written; `accept`: exit 0; `repair`: exit 0 with what was
changed in the report), why, extra options, and a phrase the report must contain. `base/` is loaded
before each case.

Origin and licence: the boundaries are excerpts of the real village boundaries of Kabupaten Seruyan
(public repositories cahyadsn/wilayah_boundaries and cahyadsn/wilayah, MIT licence; the geometry appears
to derive from BIG's village boundary data, whose terms also apply), simplified to about 100 m; every
other value (points, ids, counts) is generated.
"""


if __name__ == "__main__":
    main()
