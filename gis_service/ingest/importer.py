"""The import pipeline: read -> map fields -> convert -> check geometry -> check against the
database -> upsert, all inside one transaction. Nothing is written when a record is rejected,
unless the user asked to skip bad records (then the report lists each one)."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from gis_service.ingest.context import Context, ImportOptions
from gis_service.ingest.fields import convert, map_columns
from gis_service.ingest.geometry import FileProblem, check_geometries
from gis_service.ingest.kinds import KINDS, Kind
from gis_service.ingest.readers import ReadError, read_table
from gis_service.ingest.report import ImportRejected, ImportReport, Problem
from gis_service.settings import Settings, get_settings


def import_file(engine: Engine, kind: str, path: Path, options: ImportOptions | None = None,
                settings: Settings | None = None) -> ImportReport:
    """Import one file of ``kind`` (see ``KINDS``). Raises ImportRejected with the report."""
    options = options or ImportOptions()
    settings = settings or get_settings()
    path = Path(path)
    spec = _kind(kind)
    report = ImportReport(kind=kind, file=path.name, source=options.source or _source_name(path))
    try:
        if kind == "network" and path.name.lower().endswith(".osm.pbf"):
            from gis_service.ingest.osm import read_osm_network

            frame, notes = read_osm_network(path, settings=settings)
        else:
            result = read_table(path, layer=options.layer, crs=options.crs, max_mb=settings.max_import_mb,
                                geometry_required=spec.geometry is not None and spec.geometry.required)
            frame, notes = result.frame, result.notes
    except (ReadError, FileProblem) as exc:
        report.reject(None, None, str(exc))
        raise ImportRejected(report) from exc
    report.notes += notes
    return import_frame(engine, kind, frame, options, settings=settings, report=report)


def import_frame(engine: Engine, kind: str, frame: pd.DataFrame, options: ImportOptions | None = None,
                 *, settings: Settings | None = None, report: ImportReport | None = None) -> ImportReport:
    """Import an in-memory (Geo)DataFrame, e.g. from the demo generator, through the same checks."""
    started = time.perf_counter()
    options = options or ImportOptions()
    settings = settings or get_settings()
    spec = _kind(kind)
    report = report or ImportReport(kind=kind, file=None, source=options.source or "memory")
    report.read = len(frame)
    for i, reason in frame.attrs.get("repaired", []):
        report.repaired.append(Problem(i + 1, None, reason))
    region = settings.region_config()
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame), index=frame.index),
                                 crs="EPSG:4326")
    frame = frame.reset_index(drop=True)
    rows = np.arange(1, len(frame) + 1)
    try:
        canonical, bad = _canonical(frame, spec, options, report, rows)
        if spec.geometry is not None:
            ids = canonical[spec.id_field].to_numpy(dtype=object) if spec.id_field in canonical \
                else np.full(len(canonical), None, dtype=object)
            geoms, geom_bad = check_geometries(frame, spec.geometry, region=region if options.region_check
                                               else None, report=report, rows=rows, ids=ids,
                                               swap_xy=options.swap_xy)
            canonical = canonical.set_geometry(gpd.GeoSeries(geoms, crs="EPSG:4326"))
            bad |= geom_bad
    except (FileProblem, KeyError) as exc:
        report.reject(None, None, str(exc).strip("'\""))
        raise ImportRejected(report) from exc
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            ctx = Context(conn, canonical, rows, bad, report, options, region, report.source)
            spec.check(ctx)
            report.rejected.sort(key=lambda p: (p.row is not None, p.row or 0))
            if report.rejected and not options.skip_bad:
                raise ImportRejected(report)
            _register_source(conn, report.source, options)
            report.inserted, report.updated = spec.write(ctx)
            report.unchanged = int((~ctx.bad).sum()) - report.inserted - report.updated
            report.seconds = round(time.perf_counter() - started, 3)
            report.written = not options.dry_run
            conn.execute(text("INSERT INTO import_log (kind, file, source, report) "
                              "VALUES (:k, :f, :s, CAST(:r AS jsonb))"),
                         {"k": kind, "f": report.file, "s": report.source, "r": _json(report)})
        except BaseException:
            tx.rollback()
            report.written = False
            raise
        if options.dry_run:
            tx.rollback()
            report.notes.append("dry run: nothing written")
        else:
            tx.commit()
    return report


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"unknown import kind '{kind}'; choose one of {', '.join(KINDS)}")
    return KINDS[kind]


def _source_name(path: Path) -> str:
    name = path.name
    for suffix in (".osm.pbf", ".geojson", ".gpkg", ".zip", ".csv", ".json", ".shp", ".fgb", ".tsv"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _canonical(frame: gpd.GeoDataFrame, spec: Kind, options: ImportOptions, report: ImportReport,
               rows: np.ndarray) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Map and convert the source columns; returns the canonical frame and the rejected mask."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    mapping = map_columns(columns, spec.fields, options.fields)
    missing = [f for f in spec.fields if f.required and f.name not in mapping]
    if spec.name == "population" and not {"code", "bps_code"} & set(mapping):
        missing.append(spec.fields[0])
    if missing:
        f = missing[0]
        looked = ", ".join((f.name, *f.aliases[:8]))
        raise KeyError(f"no column for '{f.name}' (looked for {looked}); the file has columns "
                       f"{', '.join(map(str, columns))}. Map it with --field {f.name}=COLUMN")
    report.notes.append("columns: " + ", ".join(f"{k}<-{v}" for k, v in mapping.items() if k != v))
    bad = np.zeros(len(frame), dtype=bool)
    out = {}
    id_col = mapping.get(spec.id_field) if spec.id_field else None
    ids = frame[id_col].astype(object).to_numpy() if id_col else np.full(len(frame), None, dtype=object)
    for f in spec.fields:
        if f.name not in mapping:
            out[f.name] = pd.Series([None] * len(frame), dtype=object)
            continue
        col = mapping[f.name]
        values, wrong = convert(frame[col], f)
        for i in np.flatnonzero(wrong.to_numpy()):
            if not bad[i]:
                report.reject(int(rows[i]), ids[i], f"column '{col}' value '{frame[col].iat[i]}' is not "
                              + _expected(f), _fix(f))
            bad[i] = True
        if f.required:
            for i in np.flatnonzero(values.isna().to_numpy() & ~wrong.to_numpy()):
                if not bad[i]:
                    report.reject(int(rows[i]), ids[i], f"no value for {f.name} (column '{col}')",
                                  f"fill in {f.name} for every record")
                bad[i] = True
        out[f.name] = values.astype(object).reset_index(drop=True)
    canonical = gpd.GeoDataFrame(pd.DataFrame(out), geometry=gpd.GeoSeries([None] * len(frame)),
                                 crs="EPSG:4326")
    return canonical, bad


def _expected(f) -> str:
    if f.kind == "vocab":
        return f"a known {f.name.replace('_', ' ')}"
    return {"int": "a whole number", "float": "a number", "date": "a date (YYYY-MM-DD or DD/MM/YYYY)",
            "bool": "yes/no (ya/tidak, 1/0)"}.get(f.kind, "readable")


def _fix(f) -> str:
    if f.kind == "vocab":
        return f"use one of {', '.join(m.value for m in f.vocab)} (case and separators are ignored)"
    return "correct the value or leave it empty"


def _register_source(conn, name: str, options: ImportOptions) -> None:
    conn.execute(text(
        "INSERT INTO data_source (name, title, licence, illustrative) VALUES (:n, :t, :l, :i) "
        "ON CONFLICT (name) DO UPDATE SET title = COALESCE(EXCLUDED.title, data_source.title), "
        "licence = COALESCE(EXCLUDED.licence, data_source.licence), illustrative = EXCLUDED.illustrative, "
        "loaded_at = now()"),
        {"n": name, "t": options.title, "l": options.licence, "i": options.illustrative})


def _json(report: ImportReport) -> str:
    import json

    return json.dumps(report.to_dict(), default=str, ensure_ascii=False)
