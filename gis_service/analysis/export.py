"""Results of a coverage run as tables and files: one row per village (CSV); village polygons,
facilities, service areas and modelled demand points with their results (GeoPackage); the
village-by-village comparison of two runs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

from gis_service.analysis.ladder import RUNGS


def village_table(conn: Connection, run_id: int) -> pd.DataFrame:
    """One row per village: households and people, served and unserved per service, ladder now
    and projected."""
    areas = pd.read_sql(text(
        "SELECT c.area_code AS code, a.name, c.service, c.households, c.people, c.served_households, "
        "c.served_people, c.ladder, c.ladder_projected FROM coverage_area c "
        "LEFT JOIN admin_area a ON a.code = c.area_code WHERE c.run_id = :r AND c.level = 'village' "
        "ORDER BY c.area_code, c.service"), conn, params={"r": run_id})
    if areas.empty:
        raise ValueError(f"run {run_id} has no village results (unknown run?)")
    base = areas[areas.service == "all"].set_index("code")
    out = base[["name", "households", "people"]].copy()
    for service in sorted(set(areas.service) - {"all"}) + ["all"]:
        s = areas[areas.service == service].set_index("code")
        label = "any" if service == "all" else service
        out[f"{label}_served_households"] = s.served_households
        out[f"{label}_unserved_households"] = s.households - s.served_households
        out[f"{label}_served_people"] = s.served_people
        out[f"{label}_unserved_people"] = s.people - s.served_people
    for prefix, column in (("now", "ladder"), ("projected", "ladder_projected")):
        for rung in RUNGS:
            out[f"{rung}_{prefix}"] = base[column].map(lambda d, r=rung: d.get(r, 0))
    return out.reset_index()


def export_run(conn: Connection, run_id: int, path: Path) -> Path:
    path = Path(path)
    table = village_table(conn, run_id)
    if path.suffix.lower() == ".csv":
        table.to_csv(path, index=False, encoding="utf-8")
        return path
    if path.suffix.lower() != ".gpkg":
        raise ValueError(f"{path.name}: export to .csv or .gpkg")
    villages = gpd.read_postgis(text("SELECT code, geom FROM admin_area WHERE level = 'village'"), conn,
                                geom_col="geom")
    villages.merge(table, on="code").to_file(path, layer="coverage_village", engine="pyogrio")
    for layer, sql in RUN_LAYERS.items():
        frame = gpd.read_postgis(text(sql), conn, geom_col="geom", params={"r": run_id})
        if not frame.empty:  # e.g. demand points exist only for runs on modelled demand
            frame.to_file(path, layer=layer, engine="pyogrio")
    return path


RUN_LAYERS = {
    "coverage_facility":
        "SELECT f.id, f.name, f.type, f.status, c.service, c.capacity_households, c.households_in_reach, "
        "c.served_households, c.served_people, f.geom FROM coverage_facility c JOIN facility f ON "
        "f.id = c.facility_id WHERE c.run_id = :r",
    "coverage_service_area":
        "SELECT a.facility_id, f.name, a.service, a.threshold, a.unit, a.geom FROM coverage_service_area a "
        "JOIN facility f ON f.id = a.facility_id WHERE a.run_id = :r ORDER BY a.threshold DESC",
    "coverage_demand_point":
        "SELECT point_id, origin, origin_ref, village_code, households, people, lltt_served, offsite_served, "
        "mck_served, any_served, geom FROM coverage_demand_point WHERE run_id = :r ORDER BY point_id",
}
"""GeoPackage layers of one run besides the villages (``:r`` is the run id)."""


def diff_runs(conn: Connection, run_a: int, run_b: int) -> pd.DataFrame:
    """Village by village: households served by any service and projected aman/layak in A and B."""
    a, b = village_table(conn, run_a), village_table(conn, run_b)
    cols = ["any_served_households", "aman_projected", "layak_sendiri_projected", "babs_projected"]
    merged = a[["code", "name", "households", *cols]].merge(
        b[["code", *cols]], on="code", how="outer", suffixes=("_a", "_b")).fillna(0)
    for c in cols:
        merged[f"{c}_change"] = merged[f"{c}_b"] - merged[f"{c}_a"]
    return merged
