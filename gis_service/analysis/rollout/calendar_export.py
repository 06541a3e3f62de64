"""The desludging calendar as files: a CSV with one row per planned emptying (the columns the
operator's logbook uses), and a GeoPackage for QGIS with the emptyings as points, the zones as
village polygons and the summary per year as a table. Coordinates are stored in EPSG:4326."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Connection, text

from gis_service.analysis.rollout.calendar import CSV_COLUMNS, CalendarResult


def write_csv(result: CalendarResult, path: Path) -> int:
    """UTF-8 CSV, ISO dates, one row per planned emptying; returns the rows written."""
    frame = result.emptyings[CSV_COLUMNS]
    frame.to_csv(path, index=False, encoding="utf-8", date_format="%Y-%m-%d")
    return len(frame)


def write_geopackage(conn: Connection, result: CalendarResult, path: Path) -> dict[str, int]:
    """Layers ``emptyings`` (points at the households), ``zones`` (village polygons of each zone,
    dissolved) and the table ``calendar_years``."""
    if path.suffix.lower() != ".gpkg":
        raise ValueError(f"{path}: give a .gpkg file name")
    hh = result.households.drop_duplicates("id").set_index("id")
    e = result.emptyings
    lon, lat = hh["lon"].reindex(e["household_id"]).to_numpy(float), hh["lat"].reindex(e["household_id"]).to_numpy(float)
    points = gpd.GeoDataFrame(e[CSV_COLUMNS].astype({"date": "datetime64[ns]", "due": "datetime64[ns]",
                                                     "enrolled": "datetime64[ns]",
                                                     "emptied_before": "datetime64[ns]"}),
                              geometry=shapely.points(lon, lat), crs="EPSG:4326")
    villages = pd.read_sql(text("SELECT code AS village_code, name, ST_AsBinary(geom) AS wkb FROM admin_area "
                                "WHERE level = 'village' AND code = ANY(:c)"), conn,
                           params={"c": sorted(result.zones["village_code"].unique())})
    zones = result.zones.merge(villages, on="village_code", how="left")
    shapes = gpd.GeoDataFrame(zones.drop(columns="wkb"), geometry=shapely.from_wkb(zones["wkb"].to_numpy()),
                              crs="EPSG:4326")
    dissolved = shapes.dissolve(by=["zone", "base", "period"], as_index=False, aggfunc={"name": lambda s: ", ".join(s)})
    dissolved["zone"] = dissolved["zone"] + 1
    dissolved = dissolved.rename(columns={"name": "villages"})
    path.unlink(missing_ok=True)
    points.to_file(path, layer="emptyings", driver="GPKG")
    dissolved.to_file(path, layer="zones", driver="GPKG")
    years = result.per_year.astype({"from": "datetime64[ns]", "until": "datetime64[ns]"})
    pyogrio.write_dataframe(years, path, layer="calendar_years", driver="GPKG")  # a table: no geometry
    return {"emptyings": len(points), "zones": len(dissolved), "calendar_years": len(years)}
