"""What a scale-up plan reads from PostGIS (the scenario, the region, its villages, facilities,
settlements, targets and risk) and how it writes its results to the ``scaleup_*`` tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, text

from gis_service.analysis.rungs import village_is_urban
from gis_service.db.bulk import copy_frame


def read_scenario(conn: Connection, name: str) -> dict:
    row = conn.execute(text("SELECT id, name, region_code, parameter_set_id, plan FROM scenario "
                            "WHERE name = :n"), {"n": name}).mappings().first()
    if row is None:
        known = conn.execute(text("SELECT name FROM scenario ORDER BY name")).scalars().all()
        raise ValueError(f"unknown scenario '{name}'; known: {', '.join(known) or 'none'} "
                         "(load scenarios with gis-service scaleup scenarios FILE)")
    return dict(row)


def read_region(conn: Connection, codes: list[str], metric: str) -> tuple[shapely.Geometry, str, str]:
    """The planned area (metric CRS), its name and level ('group' for several areas)."""
    srid = Transformer.from_crs("EPSG:4326", metric).target_crs.to_epsg()
    if not codes:
        raise ValueError("no region code given: e.g. --region 62.07 (regency) or 62.07.01,62.07.02")
    parts = []
    for code in codes:
        row = conn.execute(text(f"SELECT name, level, ST_AsBinary(ST_Transform(geom, {int(srid)})) AS g "
                                "FROM admin_area WHERE code = :c"), {"c": code}).first()
        if row is None:
            raise ValueError(f"unknown region code {code}: give a Kemendagri code of a stored area "
                             "(e.g. 62.07 for the regency, 62.07.01 for a district; several with commas)")
        parts.append(row)
    geom = shapely.union_all([shapely.from_wkb(bytes(r.g)) for r in parts])
    return geom, " + ".join(r.name for r in parts), parts[0].level if len(parts) == 1 else "group"


IN_AREA = "({a} = {b} OR starts_with({a}, {b} || '.'))"  # area a is b or lies inside b


def read_villages(conn: Connection, codes: list[str]) -> pd.DataFrame:
    v = pd.read_sql(text("SELECT code, name, parent_code AS district_code, village_kind, urban_rural "
                         "FROM admin_area WHERE level = 'village' AND EXISTS (SELECT 1 FROM "
                         f"unnest(CAST(:codes AS text[])) r WHERE {IN_AREA.format(a='code', b='r')}) ORDER BY code"),
                    conn, params={"codes": codes})
    v["urban"] = village_is_urban(v["urban_rural"], v["village_kind"])
    return v


def read_facility_frame(conn: Connection, where: str, params: dict, to_metric: Transformer) -> pd.DataFrame:
    fac = pd.read_sql(text(
        "SELECT id AS facility_id, name, type, status, capacity, capacity_unit, service_modes, "
        "COALESCE(village_code, (SELECT a.code FROM admin_area a WHERE a.level = 'village' "
        "  AND ST_Intersects(a.geom, f.geom) ORDER BY a.code LIMIT 1)) AS village_code, "
        f"institution_type, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM facility f WHERE {where} ORDER BY id"),
        conn, params=params)
    fac["x"], fac["y"] = to_metric.transform(fac.pop("lon").to_numpy(), fac.pop("lat").to_numpy())
    fac["capacity"] = fac["capacity"].astype(float)
    return fac


def read_fixed_facilities(conn: Connection, scenario_id: int, to_metric: Transformer) -> pd.DataFrame:
    return read_facility_frame(conn, "id IN (SELECT facility_id FROM scenario_facility WHERE scenario_id = :s)",
                           {"s": scenario_id}, to_metric)


def read_stored_candidates(conn: Connection, to_metric: Transformer) -> pd.DataFrame:
    return read_facility_frame(conn, "status = 'candidate'", {}, to_metric).rename(columns={"facility_id": "id"})


def read_settlements(conn: Connection, metric: str):
    import geopandas as gpd

    frame = gpd.read_postgis(text(
        "SELECT s.id, s.village_code, COALESCE(s.name, v.name, 'permukiman ' || s.id) AS label, s.geom "
        "FROM settlement s "
        "LEFT JOIN admin_area v ON v.code = s.village_code ORDER BY s.id"), conn, geom_col="geom")
    return frame.to_crs(metric) if len(frame) else frame.set_crs(4326, allow_override=True).to_crs(metric)


def read_targets(conn: Connection, codes: list[str]) -> pd.DataFrame:
    """The target rows that apply to the whole region: national ones and those scoped to an area
    containing every planned area; per indicator and year the most specific wins (a district's
    own target over the national one)."""
    rows = pd.read_sql(text(
        "SELECT indicator, year, value, source, coalesce(scope_code, '') AS scope FROM target "
        "WHERE scope_code IS NULL OR NOT EXISTS (SELECT 1 FROM unnest(CAST(:codes AS text[])) r "
        f"WHERE NOT {IN_AREA.format(a='r', b='scope_code')})"), conn, params={"codes": codes})
    rows = rows.assign(depth=rows["scope"].str.len()).sort_values(["indicator", "year", "depth"],
                                                                   ascending=[True, True, False])
    return rows.drop_duplicates(["indicator", "year"]).drop(columns=["scope", "depth"]).sort_values(
        ["year", "indicator"]).reset_index(drop=True)


def read_risk(conn: Connection, codes: list[str]) -> pd.Series:
    """Latest EHRA risk class per village of the region."""
    rows = pd.read_sql(text("SELECT DISTINCT ON (village_code) village_code, risk_class FROM village_risk "
                            "WHERE EXISTS (SELECT 1 FROM unnest(CAST(:codes AS text[])) r WHERE "
                            f"{IN_AREA.format(a='village_code', b='r')}) ORDER BY village_code, year DESC"),
                       conn, params={"codes": codes})
    return rows.set_index("village_code")["risk_class"]


def write_plan(conn: Connection, run_id: int, fac: pd.DataFrame, vill: pd.DataFrame, req: pd.DataFrame,
           phases: pd.DataFrame, metric: str) -> None:
    to_wgs = Transformer.from_crs(metric, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(fac["x"].to_numpy(float), fac["y"].to_numpy(float))
    rows = pd.DataFrame({
        "run_id": run_id, "key": np.arange(1, len(fac) + 1),
        "facility_id": fac["facility_id"].astype("Int64"), "name": fac["name"], "type": fac["type"],
        "role": fac["role"], "origin": fac["origin"], "phase": fac["phase"].astype(int),
        "pick_order": fac["pick_order"].astype("Int64"), "capacity": fac["capacity"].astype(float),
        "capacity_unit": fac["capacity_unit"], "capacity_households": fac["capacity_households"].astype(float),
        "served_households": fac["served_households"].astype(float), "capex_idr": fac["capex_idr"],
        "opex_idr_per_year": fac["opex_idr_per_year"], "institution_type": fac["institution_type"],
        "staff": fac["staff"], "trucks": fac["trucks"],
        "service_modes": [sorted(m) for m in fac["modes"]], "geom": shapely.points(lon, lat)})
    copy_frame(conn, "scaleup_facility", rows)
    cols = ["village_code", "households", "people", "covered_now", "covered_phase1", "covered_phase2",
            "reachable_share", "risk_class", "cost_per_person_idr", "score", "rank", "phase"]
    v = vill[cols].assign(run_id=run_id, need_tank=vill["tank"].astype(int), need_lltt=vill["lltt"].astype(int),
                          need_offsite=vill["offsite"].astype(int))
    v["risk_class"] = v["risk_class"].astype("Int64")
    copy_frame(conn, "scaleup_village", v)
    copy_frame(conn, "scaleup_requirement", req.assign(run_id=run_id))
    copy_frame(conn, "scaleup_phase", phases.assign(run_id=run_id))


def write_desludging_flows(conn: Connection, run_id: int, lltt, village_of_cell: np.ndarray) -> None:
    """Households of each village every desludging facility serves after each phase (the lltt
    service's facilities come first in the run's facility rows, keys 1..)."""
    if lltt.problem is None or not lltt.phase_flows:
        return
    parts = []
    for phase, flow in lltt.phase_flows.items():
        frame = pd.DataFrame({"facility_key": lltt.problem.pair_facility + 1,
                              "village_code": village_of_cell[lltt.problem.pair_demand], "households": flow})
        frame = frame[frame["households"] > 1e-6].groupby(["facility_key", "village_code"], as_index=False).sum()
        parts.append(frame.assign(phase=phase))
    copy_frame(conn, "scaleup_desludging_flow", pd.concat(parts, ignore_index=True).assign(run_id=run_id))


def to_json(obj) -> str:
    return json.dumps(json_safe(obj), default=str, allow_nan=False)


def json_safe(obj):
    """numpy scalars and arrays as Python values; NaN and infinities as null (JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [json_safe(v) for v in obj]
    if isinstance(obj, frozenset | set):
        return sorted(obj)
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    return obj
