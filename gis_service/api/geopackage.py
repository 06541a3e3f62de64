"""Every published layer in one GeoPackage, with its style embedded: the offline copy of what the
API serves, for planners without a connection to the server.

QGIS reads a GeoPackage's ``layer_styles`` table (the table QGIS itself writes when a style is
saved "in the database") and applies the default style when the layer is added, so the file opens
styled. The layers hold the same public properties as the API's collections.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from sqlalchemy import text
from sqlalchemy.engine import Engine

from gis_service.api.layers import Layer, table_columns
from gis_service.api.styles import qml, sld

GEOMETRY_TYPES = {"point": "Point", "line": "MultiLineString", "polygon": "MultiPolygon"}
LAYER_STYLES = """
CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
    f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
    styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"""


def layer_frame(engine: Engine, layer: Layer, filters: dict | None = None) -> gpd.GeoDataFrame:
    """The layer's public columns and geometry, as the API publishes them (EPSG:4326), limited to
    the rows whose columns equal ``filters`` (e.g. one run of an all-runs view)."""
    with engine.connect() as conn:
        columns = table_columns(conn, layer)
        if not columns:
            raise ValueError(f"layer {layer.id}: table or view {layer.table} does not exist; "
                             f"run `gis-service db upgrade`")
        keep = [layer.id_field, *layer.public(columns)]
        select = ", ".join(f'"{c}"' for c in keep) + f', "{layer.geometry}" AS geom'
        filters = filters or {}
        unknown = set(filters) - set(columns)
        if unknown:
            raise ValueError(f"layer {layer.id}: no column {', '.join(sorted(unknown))} to filter on")
        where = " AND ".join(f'"{c}" = :f{i}' for i, c in enumerate(filters)) or "TRUE"
        return gpd.read_postgis(text(f'SELECT {select} FROM "{layer.table}" WHERE {where} '
                                     f'ORDER BY "{layer.id_field}"'), conn, geom_col="geom", crs="EPSG:4326",
                                params={f"f{i}": v for i, v in enumerate(filters.values())})


def export_geopackage(engine: Engine, layers: list[Layer], targets: list[dict], path: Path, *,
                      filters: dict | None = None, tables: dict[str, pd.DataFrame] | None = None
                      ) -> dict[str, int]:
    """Write ``layers`` (rows matching ``filters``) and attribute ``tables`` to a new GeoPackage at
    ``path``, the layers with their QML and SLD styles as the default styles; returns the row count
    per layer and table. An existing file is replaced only when the new one is complete."""
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial.gpkg")  # renamed into place when complete
    partial.unlink(missing_ok=True)
    counts = {}
    for layer in layers:
        frame = layer_frame(engine, layer, filters)
        geometry_type = GEOMETRY_TYPES[layer.style.geometry] if layer.style else "Unknown"
        frame.to_file(partial, layer=layer.id, driver="GPKG", engine="pyogrio", promote_to_multi=
                      geometry_type.startswith("Multi"), geometry_type=geometry_type)
        counts[layer.id] = len(frame)
    for name, table in (tables or {}).items():
        pyogrio.write_dataframe(table, partial, layer=name, driver="GPKG")
        counts[name] = len(table)
    with sqlite3.connect(partial) as db:
        db.execute(LAYER_STYLES)
        db.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier) "
                   "VALUES ('layer_styles', 'attributes', 'layer_styles')")
        db.executemany(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
            "styleName, styleQML, styleSLD, useAsDefault, description, owner) "
            "VALUES ('', '', ?, 'geom', ?, ?, ?, 1, ?, 'gis-service')",
            [(layer.id, layer.id, qml(layer.style, targets), sld(layer.id, layer.title.id, layer.style, targets),
              layer.title.id) for layer in layers if layer.style])
    partial.replace(path)
    return counts


def export_plan_geopackage(engine: Engine, run, layers: list[Layer], targets: list[dict], path: Path) -> dict[str, int]:
    """A stored scale-up run (``report.StoredRun``): its facilities and villages as styled layers,
    its requirements and phases as tables."""
    chosen = [layer.model_copy(update={"table": f"{layer.table}_all_runs"})
              for layer in layers if layer.id in ("scaleup_facilities", "scaleup_villages")]
    tables = {"scaleup_requirements": run.requirements.assign(trucks=run.requirements["trucks"].map(json.dumps)),
              "scaleup_phases": run.phases}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return export_geopackage(engine, chosen, targets, path, filters={"run_id": run.id}, tables=tables)


RUN_LAYERS = ("coverage_all_runs", "service_areas_all_runs", "coverage_gaps_all_runs")


def export_run_geopackage(engine: Engine, run_id: int, layers: list[Layer], targets: list[dict],
                          path: Path) -> dict[str, int]:
    """A stored coverage run for QGIS: its areas (villages, districts, regency) coloured by
    coverage against the targets, its service areas and its gaps as styled layers, and the
    village table with every service's counts as an attribute table."""
    from gis_service.analysis.export import village_table

    with engine.connect() as conn:
        villages = village_table(conn, run_id)
    chosen = [layer for layer in layers if layer.id in RUN_LAYERS]
    return export_geopackage(engine, chosen, targets, path, filters={"run_id": run_id},
                             tables={"coverage_village_table": villages})
