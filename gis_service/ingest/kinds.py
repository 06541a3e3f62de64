"""The nine import kinds (the pilot's two in ``pilots.py``): their fields, geometry rule, checks against the database and writers."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from gis_service.db.household_counts import refresh_household_counts
from gis_service.ingest.checks import (
    base_columns, check_village_codes, codes_in_db, metric_measure, normalise_codes, record_ids,
    reject_duplicates, source_ids,
)
from gis_service.ingest.codes import bps_code, level_of, parent_of
from gis_service.ingest.context import Context
from gis_service.ingest.facility_fields import FACILITY_FIELDS
from gis_service.ingest.fields import Field, capacity_number
from gis_service.ingest.geometry import GeomRule
from gis_service.ingest.targets import TARGET_FIELDS, check_targets, write_targets
from gis_service.ingest.pilots import (
    EVENT_FIELDS, EVENT_GEOMETRY, PILOT_FIELDS, check_pilot_events, check_pilots, write_pilot_events, write_pilots,
)
from gis_service.ingest.writer import upsert
from gis_service.vocabulary import (
    AdminLevel, CapacityUnit, Disposal, LadderRung,
    NetworkMode, ToiletType, UrbanRural, VillageKind, match_term, values,
)

CODE_ALIASES = ("kode", "kode_wilayah", "kode_kemendagri", "kode_desa", "kdepum", "kode_kec", "kdcpum",
                "kode_kab", "kdpkab", "kode_prov", "kdppum", "kd_wilayah", "admin_code")
VILLAGE_CODE_ALIASES = ("kode_desa", "kdepum", "kode_kelurahan", "desa_kode", "kode_wilayah", "kode")


@dataclass(frozen=True)
class Kind:
    name: str
    fields: list[Field]
    geometry: GeomRule | None
    id_field: str | None  # names a record in messages and keys it in the table
    check: Callable[[Context], None]
    write: Callable[[Context], tuple[int, int]]


# ---- admin ----------------------------------------------------------------------------------

def _provinces() -> dict[str, str]:
    with resources.files("gis_service.data").joinpath("provinces.csv").open(encoding="utf-8") as fh:
        return {r["kode"]: r["nama"] for r in csv.DictReader(fh)}


def _check_admin(ctx: Context) -> None:
    f = ctx.frame
    normalise_codes(ctx, "code", required=True)
    f["_id"] = f["code"]
    reject_duplicates(ctx, "code")
    levels = []
    kinds = f["village_kind"].to_numpy(dtype=object, copy=True)
    urban = f["urban_rural"].to_numpy(dtype=object, copy=True)
    for i, code in enumerate(f["code"].to_numpy(dtype=object)):
        code = code if isinstance(code, str) else None
        level = level_of(code).value if code else None
        given = f["level"].iat[i]
        if code and given and given != level:
            ctx.reject(i, code, f"the level column says {given} but {code} is a {level} code",
                       "correct the code or the level")
        if level != "village":
            kinds[i] = None
        elif urban[i] is None and kinds[i] is not None:
            urban[i] = "urban" if kinds[i] == "kelurahan" else "rural"
        levels.append(level)
    f["level"], f["village_kind"], f["urban_rural"] = levels, kinds, urban
    _check_bps_codes(ctx)
    _check_parents(ctx)


def _check_bps_codes(ctx: Context) -> None:
    f = ctx.frame
    codes = []
    for i, v in enumerate(f["bps_code"].to_numpy(dtype=object)):
        code = None if v is None else bps_code(v)
        if v is not None and code is None:
            ctx.reject(i, f["code"].iat[i], f"BPS code '{v}' is not a BPS code (2, 4, 7 or 10 digits, e.g. "
                       "6208010005)", "format the column as text in the spreadsheet (scientific notation "
                       "such as 6.20801E+09 loses digits) and export again")
        codes.append(code)
    f["bps_code"] = codes
    reject_duplicates(ctx, "bps_code")
    stored = dict(ctx.conn.execute(text(
        "SELECT bps_code, code FROM admin_area WHERE bps_code IS NOT NULL")).all())
    for i, (code, bps) in enumerate(zip(f["code"], f["bps_code"])):
        if bps and stored.get(bps) not in (None, code) and not ctx.bad[i]:
            ctx.reject(i, code, f"BPS code {bps} already belongs to {stored[bps]}",
                       "check the crosswalk: one BPS code maps to one Kemendagri code")


def _check_parents(ctx: Context) -> None:
    f = ctx.frame
    known = codes_in_db(ctx) | {c for c, b in zip(f["code"], ctx.bad) if isinstance(c, str) and not b}
    provinces = _provinces()
    added: list[str] = []
    for i, code in enumerate(f["code"].to_numpy(dtype=object)):
        parent = parent_of(code) if isinstance(code, str) else None
        if parent is None or parent in known or ctx.bad[i]:
            continue
        if level_of(parent) == AdminLevel.province and parent in provinces:
            added.append(parent)
            known.add(parent)
            continue
        ctx.reject(i, code, f"unknown parent code {parent}",
                   "load the parent area first (e.g. the kecamatan file before the desa file) or fix "
                   "the code")
    if added:
        rows = pd.DataFrame({"code": added, "name": [provinces[c] for c in added], "level": "province"})
        extra = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries([None] * len(rows)), crs="EPSG:4326")
        ctx.report.notes.append(f"province(s) {', '.join(added)} added from the built-in list of "
                                "Kemendagri province codes")
        ctx.frame = gpd.GeoDataFrame(pd.concat([extra, f], ignore_index=True), crs="EPSG:4326")
        ctx.rows = np.concatenate([np.zeros(len(added), dtype=int), ctx.rows])
        ctx.bad = np.concatenate([np.zeros(len(added), dtype=bool), ctx.bad])


def _write_admin(ctx: Context) -> tuple[int, int]:
    cols = ["code", "level", "name", "village_kind", "urban_rural", "bps_code"]
    out = base_columns(ctx, cols)
    out["parent_code"] = [parent_of(c) for c in out["code"]]
    geoms = np.asarray(ctx.good().geometry.array, dtype=object)
    out["geom"] = geoms
    out["area_km2"] = metric_measure(ctx, geoms, "area")
    out = out.sort_values("code", key=lambda s: s.str.len(), kind="stable")  # parents first
    return upsert(ctx.conn, "admin_area", out, key=["code"], coalesce=True,
                  touch="updated_at")


# ---- population ----------------------------------------------------------------------------

def _check_population(ctx: Context) -> None:
    f = ctx.frame
    ids = f["code"].to_numpy(dtype=object).copy()
    by_bps = dict(ctx.conn.execute(text(
        "SELECT bps_code, code FROM admin_area WHERE bps_code IS NOT NULL")).all())
    for i, bps in enumerate(f["bps_code"].to_numpy(dtype=object)):
        if ids[i] is None and bps is not None:
            ids[i] = by_bps.get(bps_code(bps) or "")
            if ids[i] is None:
                ctx.reject(i, bps, f"BPS code {bps} is not in the crosswalk",
                           "import the crosswalk (import admin crosswalk.csv) or use Kemendagri codes")
    f["code"] = ids
    normalise_codes(ctx, "code", required=True)
    f["_id"] = f["code"]
    known = codes_in_db(ctx)
    if ctx.options.year is not None:
        f["year"] = f["year"].where(f["year"].notna(), ctx.options.year)
    for i, (code, year) in enumerate(zip(f["code"], f["year"])):
        if ctx.bad[i]:
            continue
        if code not in known:
            ctx.reject(i, code, f"unknown area code {code}", "import the admin areas first or fix the code")
        elif year is None or pd.isna(year):
            ctx.reject(i, code, "no year", "add a year (tahun) column or pass --year")
        elif f["population"].iat[i] is None and f["households"].iat[i] is None:
            ctx.reject(i, code, "neither population nor households given", "fill one of them")
        elif any((v is not None and v < 0) for v in (f["population"].iat[i], f["households"].iat[i])):
            ctx.reject(i, code, "negative count", "correct the value")
    f["_key"] = list(zip(f["code"], f["year"]))
    reject_duplicates(ctx, "_key")


def _write_population(ctx: Context) -> tuple[int, int]:
    out = base_columns(ctx, ["code", "year", "population", "households"]).rename(columns={"code": "admin_code"})
    out["year"] = out["year"].map(int)
    return upsert(ctx.conn, "admin_population", out, key=["admin_code", "year", "source"])


# ---- settlements, households, facilities ---------------------------------------------------------

def _check_located(ctx: Context) -> None:
    """Settlements and households: ids, then village codes (given, or from the location)."""
    source_ids(ctx)
    check_village_codes(ctx)


def _write_settlements(ctx: Context) -> tuple[int, int]:
    out = base_columns(ctx, ["source_id", "name", "village_code", "population", "households", "year"])
    out["geom"] = ctx.good().geometry.to_numpy(dtype=object)
    return upsert(ctx.conn, "settlement", out, key=["source", "source_id"])


HOUSEHOLD_COLUMNS = ["source_id", "village_code", "ladder_rung", "has_septic_tank", "shared_toilet",
                     "toilet_type", "disposal", "last_desludged", "members", "survey_source", "survey_date"]


def _write_households(ctx: Context) -> tuple[int, int]:
    out = base_columns(ctx, HOUSEHOLD_COLUMNS)
    out["geom"] = ctx.good().geometry.to_numpy(dtype=object)
    written = upsert(ctx.conn, "household", out, key=["source", "source_id"])
    refresh_household_counts(ctx.conn)  # the households_by_village layer, in the same transaction
    return written


CAPACITY = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)*)\s*(.*)$")


def _check_facilities(ctx: Context) -> None:
    f = ctx.frame
    source_ids(ctx)
    ids = record_ids(ctx)
    if f["status"].isna().any():
        f["status"] = f["status"].fillna("existing")
        ctx.report.notes.append("records without a status were taken as 'existing'")
    caps, units = [], []
    for i, (cap, unit) in enumerate(zip(f["capacity"], f["capacity_unit"])):
        number, unit_text = None, unit
        if cap is not None:
            m = CAPACITY.match(str(cap))
            if not m:
                ctx.reject(i, ids[i], f"capacity '{cap}' is not a number", "write e.g. 20 or '20 m3/hari'")
            else:
                number = capacity_number(m.group(1), ctx.decimal)
                if number is None:
                    ctx.reject(i, ids[i], f"capacity '{cap}' is not a number", "write e.g. 20 or '20 m3/hari'")
                unit_text = unit_text or (m.group(2) or None)
        code = match_term(CapacityUnit, unit_text) if unit_text else None
        if number is not None and code is None and not ctx.bad[i]:
            ctx.reject(i, ids[i], f"capacity {number:g} has {'an unknown' if unit_text else 'no'} unit"
                       + (f" '{unit_text}'" if unit_text else ""),
                       f"give the unit, one of {', '.join(values(CapacityUnit))}")
        caps.append(number)
        units.append(code if number is not None else None)
    f["capacity"], f["capacity_unit"] = caps, units
    modes = []
    for i, items in enumerate(f["service_modes"]):
        mapped = [match_term(NetworkMode, m) for m in (items or [])]
        if None in mapped and not ctx.bad[i]:
            ctx.reject(i, ids[i], f"unknown service mode in {items}", "use road, river or path")
        modes.append(sorted(set(m for m in mapped if m)) or None)
    f["service_modes"] = modes
    _check_feeds(ctx)
    check_village_codes(ctx)


def _check_feeds(ctx: Context) -> None:
    """``feeds`` names the IPLT (by its id in this source) a depot or transfer station delivers to:
    an IPLT of this file or one already stored under the same source."""
    f = ctx.frame
    given = f["feeds"].notna().to_numpy() & ~ctx.bad
    if not given.any():
        return
    iplts = set(f.loc[f["type"].eq("iplt").to_numpy() & ~ctx.bad, "source_id"])
    iplts |= set(ctx.conn.execute(text("SELECT source_id FROM facility WHERE source = :s AND type = 'iplt'"),
                                  {"s": ctx.source}).scalars())
    ids = record_ids(ctx)
    for i in np.flatnonzero(given):
        target, kind = f["feeds"].iat[i], f["type"].iat[i]
        if kind not in ("desludging_depot", "transfer_station"):
            ctx.reject(i, ids[i], f"a {kind} cannot feed an IPLT", "only depots and transfer stations "
                       "have 'feeds'; leave it empty for this facility")
        elif target not in iplts:
            ctx.reject(i, ids[i], f"feeds unknown IPLT '{target}'",
                       "give the id of an IPLT in this file or already imported from the same source")


FACILITY_COLUMNS = ["source_id", "name", "type", "status", "capacity", "capacity_unit", "operator",
                    "institution_type", "year", "capex_idr", "opex_idr_per_year", "service_modes",
                    "village_code"]


def _write_facilities(ctx: Context) -> tuple[int, int]:
    out = base_columns(ctx, FACILITY_COLUMNS)
    out["geom"] = ctx.good().geometry.to_numpy(dtype=object)
    counts = upsert(ctx.conn, "facility", out, key=["source", "source_id"])
    links = ctx.good()[["source_id", "feeds"]].dropna()
    if len(links):
        ctx.conn.execute(text(
            "UPDATE facility f SET feeds_facility_id = i.id FROM facility i, "
            "unnest(CAST(:depots AS text[]), CAST(:iplts AS text[])) AS l(depot, iplt) "
            "WHERE f.source = :s AND f.source_id = l.depot AND i.source = :s AND i.source_id = l.iplt"),
            {"s": ctx.source, "depots": list(links["source_id"]), "iplts": list(links["feeds"])})
    return counts


# ---- service areas drawn by planners ------------------------------------------------------------

def _check_service_areas(ctx: Context) -> None:
    """Each area names its facility by id in the facility's source, or by its exact name."""
    source_ids(ctx)
    f = ctx.frame
    rows = ctx.conn.execute(text("SELECT id, source_id, lower(name) FROM facility")).all()
    by_ref: dict[str, set[int]] = {}
    for fid, source_id, name in rows:
        by_ref.setdefault(str(source_id), set()).add(fid)
        by_ref.setdefault(name, set()).add(fid)
    ids, out = record_ids(ctx), []
    for i, ref in enumerate(f["facility"].to_numpy(dtype=object)):
        match = by_ref.get(str(ref), set()) or by_ref.get(str(ref).strip().lower(), set())
        if len(match) == 1:
            out.append(next(iter(match)))
            continue
        out.append(None)
        if len(match) > 1:
            ctx.reject(i, ids[i], f"facility '{ref}' matches {len(match)} facilities",
                       "refer to the facility by its id (source_id) instead of its name")
        else:
            ctx.reject(i, ids[i], f"unknown facility '{ref}'",
                       "import the facilities first, or correct the facility id or name")
    f["facility_id"] = out


def _write_service_areas(ctx: Context) -> tuple[int, int]:
    out = base_columns(ctx, ["source_id", "facility_id", "name"])
    out["geom"] = ctx.good().geometry.to_numpy(dtype=object)
    return upsert(ctx.conn, "service_area", out, key=["source", "source_id"])


# ---- network ----------------------------------------------------------------------------------

MODE_BY_CLASS = {"river": "river", "canal": "river", "sungai": "river", "footway": "path", "path": "path",
                 "setapak": "path", "steps": "path", "pedestrian": "path"}


def _check_network(ctx: Context) -> None:
    f = ctx.frame
    geoms = np.asarray(f.geometry.array, dtype=object)
    multi = ~ctx.bad & (shapely.get_type_id(geoms) == 5)
    if multi.any():  # MultiLineStrings become one edge per part, ids suffixed #1, #2, ...
        table = pd.DataFrame(f.drop(columns="geometry"))
        table["_part"] = [list(range(shapely.get_num_geometries(g))) if m else [None]
                          for g, m in zip(geoms, multi)]
        table["_lines"] = [list(shapely.get_parts(g)) if m else [g] for g, m in zip(geoms, multi)]
        table["_row"], table["_bad"] = ctx.rows, ctx.bad
        table = table.explode(["_lines", "_part"], ignore_index=True)
        lines = gpd.GeoSeries(table.pop("_lines").to_numpy(dtype=object), crs="EPSG:4326")
        ctx.frame = gpd.GeoDataFrame(table, geometry=lines, crs="EPSG:4326")
        ctx.rows = table["_row"].to_numpy(dtype=int, copy=True)
        ctx.bad = table["_bad"].to_numpy(dtype=bool, copy=True)  # writable: rejections mark it
        ctx.report.notes.append(f"{int(multi.sum())} multi-part lines split into single edges")
    f = ctx.frame
    if "source_id" in f and f["source_id"].notna().any() and "_part" in f:
        f["source_id"] = [s if p is None or pd.isna(p) else f"{s}#{int(p) + 1}"
                          for s, p in zip(f["source_id"], f["_part"])]
    source_ids(ctx)
    ids = record_ids(ctx)
    modes = f["mode"].to_numpy(dtype=object, copy=True)
    for i, cls in enumerate(f["class"].to_numpy(dtype=object)):
        if modes[i] is None and cls is not None:
            modes[i] = MODE_BY_CLASS.get(str(cls).lower(), "road")
        if modes[i] is None and not ctx.bad[i]:
            ctx.reject(i, ids[i], "no mode", "add a mode column (road, river, path) or a class column")
    f["mode"] = modes
    f["oneway"] = f["oneway"].map(lambda v: bool(v) if v is not None and not pd.isna(v) else False)


def _write_network(ctx: Context) -> tuple[int, int]:
    out = base_columns(ctx, ["source_id", "mode", "class", "name", "speed_kmh", "oneway"])
    geoms = ctx.good().geometry.to_numpy(dtype=object)
    out["geom"] = geoms
    out["length_m"] = metric_measure(ctx, geoms, "length")
    return upsert(ctx.conn, "network_edge", out, key=["source", "source_id"])


# ---- EHRA risk classes ---------------------------------------------------------------------------

def _check_risk(ctx: Context) -> None:
    """EHRA results per village: a known village, a year, a class 1 (rendah) .. 4 (amat tinggi)."""
    f = ctx.frame
    normalise_codes(ctx, "village_code", required=True)
    f["_id"] = f["village_code"]
    villages = codes_in_db(ctx, "village")
    if ctx.options.year is not None:
        f["year"] = f["year"].where(f["year"].notna(), ctx.options.year)
    for i, (code, year, klass) in enumerate(zip(f["village_code"], f["year"], f["risk_class"])):
        if ctx.bad[i]:
            continue
        if code not in villages:
            ctx.reject(i, code, f"unknown village code {code}", "import the villages first or fix the code")
        elif year is None or pd.isna(year):
            ctx.reject(i, code, "no year", "add a year (tahun) column or pass --year")
        elif klass is None or pd.isna(klass) or int(klass) not in (1, 2, 3, 4):
            ctx.reject(i, code, f"risk class {klass!r} is not 1-4",
                       "give the EHRA class: 4 amat tinggi, 3 tinggi, 2 sedang, 1 rendah")
    f["_key"] = list(zip(f["village_code"], f["year"]))
    reject_duplicates(ctx, "_key")


def _write_risk(ctx: Context) -> tuple[int, int]:
    out = base_columns(ctx, ["village_code", "year", "risk_class", "risk_index"])
    out["year"] = out["year"].map(int)
    out["risk_class"] = out["risk_class"].map(int)
    return upsert(ctx.conn, "village_risk", out, key=["village_code", "year"])


# ---- the registry -------------------------------------------------------------------------------

ID_ALIASES = ("id", "_id", "_uuid", "uuid", "instanceid", "meta_instanceid", "meta_instance_id", "kode_id",
              "objectid", "fid")


def source_id(*own: str) -> Field:
    """The record's id: the kind's own id names first (``household_id``, ``id_fasilitas``, ...),
    then the generic ones that Kobo/ODK, GIS exports and spreadsheets use."""
    return Field("source_id", aliases=(*own, *ID_ALIASES), max_length=200)


def facility_fields(**import_rules: dict) -> list[Field]:
    """The facility fields of the shared specification (``facility_fields.py``: kind, vocabulary,
    bounds, length) with what only an import has: the column names sources use, whether a column
    must be there, and for capacity and its unit a text read (``_check_facilities`` parses
    '20 m3/hari' into both)."""
    out = []
    for spec in FACILITY_FIELDS:
        rules = dict(import_rules[spec.name])
        kind = rules.pop("kind", spec.kind)
        numeric = kind in ("int", "float")
        out.append(Field(spec.name, kind, vocab=spec.vocab if kind == "vocab" else None,
                         minimum=spec.minimum if numeric else None, maximum=spec.maximum if numeric else None,
                         max_length=spec.max_length or Field.max_length, **rules))
    return out


VILLAGE = Field("village_code", aliases=VILLAGE_CODE_ALIASES)
COUNT = {"minimum": 0}  # counts and amounts: zero or more
YEAR = {"minimum": 1900, "maximum": 2100}
HOUSEHOLD_SIZE = ("members", "persons", "people", "household_size", "hh_size", "size", "jumlah_anggota",
                  "jumlah_anggota_keluarga", "jumlah_anggota_rumah_tangga", "anggota_rt", "anggota_keluarga",
                  "jml_art", "art", "jumlah_jiwa", "jml_jiwa", "jiwa", "jumlah_orang", "jumlah_penghuni")

KINDS: dict[str, Kind] = {
    "admin": Kind(
        "admin", [
            Field("code", aliases=CODE_ALIASES, required=True),
            Field("name", aliases=("nama", "nama_wilayah", "nama_kemendagri", "nama_desa", "wadmkd", "desa",
                                   "kelurahan", "nama_kec", "wadmkc", "kecamatan", "nama_kab", "wadmkk",
                                   "nama_prov", "wadmpr", "namobj"), required=True),
            Field("level", "vocab", ("tingkat", "level_wilayah"), AdminLevel),
            Field("village_kind", "vocab", ("jenis", "tipe", "status_desa", "jenis_desa"), VillageKind),
            Field("urban_rural", "vocab", ("klasifikasi", "kota_desa", "status_perkotaan", "urban"), UrbanRural),
            Field("bps_code", aliases=("kode_bps", "kdbbps", "idbps", "bps", "kode_desa_bps")),
        ], GeomRule("polygon", required=False), "code", _check_admin, _write_admin),
    "population": Kind(
        "population", [
            Field("code", aliases=CODE_ALIASES),
            Field("bps_code", aliases=("kode_bps", "kdbbps", "idbps", "bps")),
            Field("year", "int", ("tahun", "thn"), **YEAR),
            Field("population", "int", ("penduduk", "jumlah_penduduk", "jml_penduduk", "jiwa", "pop",
                                        "total_penduduk"), **COUNT),
            Field("households", "int", ("kk", "jumlah_kk", "jml_kk", "rumah_tangga", "ruta", "jumlah_ruta"),
                  **COUNT),
        ], None, "code", _check_population, _write_population),
    "risk": Kind(
        "risk", [
            Field("village_code", aliases=VILLAGE_CODE_ALIASES),
            Field("year", "int", ("tahun", "tahun_ehra"), **YEAR),
            Field("risk_class", "int", ("kelas_risiko", "kategori_risiko", "area_berisiko", "strata_risiko",
                                        "risiko", "class")),
            Field("risk_index", "float", ("irs", "indeks_risiko", "indeks_risiko_sanitasi", "skor_risiko"),
                  **COUNT),
        ], None, "village_code", _check_risk, _write_risk),
    "settlements": Kind(
        "settlements", [
            source_id("settlement_id", "id_permukiman", "id_kampung", "id_dusun"),
            Field("name", aliases=("nama", "nama_kampung", "nama_dusun", "namobj", "nama_permukiman")),
            VILLAGE,
            Field("population", "int", ("penduduk", "jiwa", "jumlah_penduduk", "pop"), **COUNT),
            Field("households", "int", ("kk", "jumlah_kk", "rumah_tangga"), **COUNT),
            Field("year", "int", ("tahun",), **YEAR),
        ], GeomRule("point_or_polygon"), "source_id", _check_located, _write_settlements),
    "households": Kind(
        "households", [
            source_id("household_id", "hh_id", "id_household", "id_rt", "id_ruta", "kode_ruta", "no_kk",
                      "nomor_kk", "no_kartu_keluarga", "id_keluarga", "kk_id"),
            VILLAGE,
            Field("ladder_rung", "vocab", ("akses", "akses_sanitasi", "status_sanitasi", "kategori_sanitasi",
                                           "sanitasi", "tangga_sanitasi", "ladder", "jmp"), LadderRung),
            Field("has_septic_tank", "bool", ("tangki_septik", "septic_tank", "ada_tangki_septik",
                                              "punya_tangki_septik", "septictank")),
            Field("shared_toilet", "bool", ("jamban_bersama", "shared", "wc_bersama", "toilet_bersama")),
            Field("toilet_type", "vocab", ("jenis_kloset", "kloset", "jenis_jamban", "jamban",
                                           "fasilitas_babs", "toilet"), ToiletType),
            Field("disposal", "vocab", ("pembuangan", "tempat_pembuangan", "pembuangan_akhir",
                                        "pembuangan_tinja", "tempat_pembuangan_akhir_tinja"), Disposal),
            Field("last_desludged", "date", ("terakhir_disedot", "tgl_sedot", "tanggal_penyedotan",
                                             "tanggal_sedot_terakhir")),
            Field("members", "int", HOUSEHOLD_SIZE[1:], minimum=0, above=True, maximum=200),
            Field("survey_source", aliases=("sumber", "survei", "form", "_xform_id_string")),
            Field("survey_date", "date", ("tanggal_survei", "tgl_survei", "today", "_submission_time", "start")),
        ], GeomRule("point", polygons_to_points=True), "source_id", _check_located, _write_households),
    "facilities": Kind(
        "facilities", [
            source_id("facility_id", "id_fasilitas", "kode_fasilitas", "fasilitas_id", "facility_code"),
            *facility_fields(
                name={"aliases": ("nama", "nama_fasilitas", "nama_instalasi", "namobj", "facility_name"),
                      "required": True, "fallback": "source_id"},
                type={"aliases": ("jenis", "tipe", "jenis_fasilitas", "kategori"), "required": True},
                status={"aliases": ("kondisi", "status_fasilitas")},
                capacity={"aliases": ("kapasitas", "kapasitas_desain"), "kind": "text"},  # '20 m3/hari'
                capacity_unit={"aliases": ("satuan", "satuan_kapasitas", "unit"), "kind": "text"},
                operator={"aliases": ("pengelola", "operator_name")},
                institution_type={"aliases": ("jenis_pengelola", "kelembagaan", "lembaga")},
                year={"aliases": ("tahun", "tahun_bangun", "tahun_pembangunan")},
                capex_idr={"aliases": ("biaya_investasi", "capex", "nilai_investasi")},
                opex_idr_per_year={"aliases": ("biaya_operasional", "opex", "biaya_om")},
                service_modes={"aliases": ("moda", "moda_layanan", "modes")}),
            Field("feeds", aliases=("iplt_tujuan", "ke_iplt", "feeds_iplt", "iplt")),
            VILLAGE,
        ], GeomRule("point", polygons_to_points=True), "source_id", _check_facilities, _write_facilities),
    "service_areas": Kind(
        "service_areas", [
            source_id("service_area_id", "area_id", "id_area", "id_wilayah_layanan"),
            Field("facility", aliases=("fasilitas", "facility_id", "id_fasilitas", "kode_fasilitas",
                                       "nama_fasilitas"), required=True),
            Field("name", aliases=("nama", "nama_area", "wilayah_layanan")),
        ], GeomRule("polygon"), "source_id", _check_service_areas, _write_service_areas),
    "network": Kind(
        "network", [
            source_id("edge_id", "road_id", "id_jalan", "id_ruas", "way_id", "osm_id"),
            Field("mode", "vocab", ("moda", "jenis_jaringan"), NetworkMode),
            Field("class", aliases=("kelas", "highway", "waterway", "fclass", "kelas_jalan", "remark")),
            Field("name", aliases=("nama", "namobj", "nama_jalan")),
            Field("speed_kmh", "float", ("kecepatan", "speed", "maxspeed", "kecepatan_kmh"), minimum=0,
                  above=True, maximum=300),
            Field("oneway", "bool", ("satu_arah", "one_way")),
        ], GeomRule("line"), "source_id", _check_network, _write_network),
    "pilots": Kind("pilots", PILOT_FIELDS, None, None, check_pilots, write_pilots),
    "pilot_events": Kind("pilot_events", EVENT_FIELDS, EVENT_GEOMETRY, "source_id", check_pilot_events,
                         write_pilot_events),
    "targets": Kind("targets", TARGET_FIELDS, None, None, check_targets, write_targets),
}
