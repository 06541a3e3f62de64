"""The import pipeline: read -> map fields -> convert -> check geometry -> check against the
database -> upsert, all inside one transaction. Nothing is written when a record is rejected,
unless the user asked to skip bad records (then the report lists each one).

Every rule a database constraint enforces is checked before writing, so the user sees the record
and the rule. Should the database still refuse a row, the import is refused with the database's
words (``ImportRejected``); a failure of the database itself (unreachable, connection lost,
restarted) is an ``ImportEnvironmentError``: nothing was written and the same command can be run
again (docs/import-rules.md, "Exit codes")."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import Engine, exc as sa_exc, text

from gis_service.ingest.context import Context, ImportOptions
from gis_service.ingest.fields import convert, map_columns, out_of_bounds
from gis_service.ingest.geometry import FileProblem, check_geometries
from gis_service.ingest.kinds import KINDS, Kind
from gis_service.ingest.readers import ReadError, read_table
from gis_service.ingest.report import ImportEnvironmentError, ImportRejected, ImportReport, Problem
from gis_service.settings import Settings, get_settings


def import_file(engine: Engine, kind: str, path: Path, options: ImportOptions | None = None,
                settings: Settings | None = None) -> ImportReport:
    """Import one file of ``kind`` (see ``KINDS``). Raises ImportRejected with the report."""
    options = options or ImportOptions()
    settings = settings or get_settings()
    path = Path(path)
    spec = _kind(kind)
    report = ImportReport(kind=kind, file=path.name, source=options.source or _source_name(path))
    if options.crs is not None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(options.crs)
        except CRSError as exc:
            report.reject(None, None, f"--crs {options.crs!r} is not a coordinate reference system",
                          "write it as EPSG:CODE, e.g. --crs EPSG:32749 (UTM 49S) or --crs EPSG:4326")
            raise ImportRejected(report) from exc
    try:
        if kind == "network" and path.name.lower().endswith(".osm.pbf"):
            from gis_service.ingest.osm import read_osm_network

            frame, notes = read_osm_network(path, settings=settings)
        else:
            result = read_table(path, layer=options.layer, crs=options.crs, max_mb=settings.max_import_mb,
                                geometry_required=spec.geometry is not None and spec.geometry.required,
                                region=settings.region_config() if options.region_check else None)
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
    if len(report.source or "") > 200:
        report.reject(None, None, f"the source name has {len(report.source):,} characters (at most 200)",
                      "give a shorter --source")
        raise ImportRejected(report)
    if options.year is not None and not 1900 <= options.year <= 2100:
        report.reject(None, None, f"--year {options.year} is not a year between 1900 and 2100", "give the year")
        raise ImportRejected(report)
    attrs = dict(frame.attrs)
    for i, reason in attrs.get("repaired", []):
        report.repaired.append(Problem(i + 1, None, reason))
    region = settings.region_config()
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame), index=frame.index),
                                 crs="EPSG:4326")
    frame = frame.reset_index(drop=True)
    frame.attrs = attrs
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
    try:
        _check_and_write(engine, spec, canonical, rows, bad, report, options, region, started)
    except (psycopg.Error, sa_exc.DBAPIError) as exc:
        report.written = False
        _database_failure(exc, report)
    return report


def _check_and_write(engine: Engine, spec: Kind, canonical, rows, bad, report: ImportReport,
                     options: ImportOptions, region, started: float) -> None:
    kind = spec.name
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            ctx = Context(conn, canonical, rows, bad, report, options, region, report.source,
                          canonical.attrs.get("decimal", "."))
            spec.check(ctx)
            report.rejected.sort(key=lambda p: (p.row is not None, p.row or 0))
            if report.rejected and (not options.skip_bad or ctx.bad.all()):
                raise ImportRejected(report)  # with --skip-bad too when no record is left to write
            _register_source(conn, report.source, options)
            report.inserted, report.updated = spec.write(ctx)
            report.unchanged = int((~ctx.bad).sum()) - report.inserted - report.updated
            report.seconds = round(time.perf_counter() - started, 3)
            report.written = not options.dry_run
            conn.execute(text("INSERT INTO import_log (kind, file, source, report) "
                              "VALUES (:k, :f, :s, CAST(:r AS jsonb))"),
                         {"k": kind, "f": report.file, "s": report.source, "r": _json(report)})
        except BaseException:
            report.written = False
            try:
                tx.rollback()
            except Exception:  # noqa: BLE001 - the connection may be gone; the server rolls back
                pass
            raise
        if options.dry_run:
            tx.rollback()
            report.notes.append("dry run: nothing written")
        else:
            tx.commit()


INPUT_ERRORS = (psycopg.errors.IntegrityError, psycopg.errors.DataError, psycopg.errors.ProgramLimitExceeded)


def _database_failure(exc: Exception, report: ImportReport) -> None:
    """Turn a database error into a refusal of the input or a one-line environment failure."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, INPUT_ERRORS):
        diag = getattr(orig, "diag", None)
        detail = getattr(diag, "message_detail", None) or ""
        where = f" (constraint {diag.constraint_name})" if diag is not None and diag.constraint_name else ""
        report.reject(None, None, f"the database refused the data{where}: "
                      f"{str(orig).splitlines()[0]} {detail}".strip(),
                      "this rule should have been checked before writing: please report the file")
        raise ImportRejected(report) from exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if isinstance(orig, (psycopg.OperationalError, psycopg.InterfaceError)) or \
            getattr(exc, "connection_invalidated", False) or isinstance(exc, sa_exc.OperationalError):
        raise ImportEnvironmentError(
            f"the database failed during the import ({first}); nothing was written: run the same "
            "command again once the database is reachable (gis-service db status)") from exc
    raise ImportEnvironmentError(f"the database reported an error ({type(orig).__name__}: {first}); "
                                 "nothing was written") from exc


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
    """Map and convert the source columns; returns the canonical frame and the rejected mask.
    Every column of the file is accounted for in the report: used (and by which field) or not."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    mapping = map_columns(columns, spec.fields, options.fields)
    missing = [f for f in spec.fields if f.required and f.name not in mapping
               and not (f.fallback and f.fallback in mapping)]
    if spec.name == "population" and not {"code", "bps_code"} & set(mapping):
        missing.append(spec.fields[0])
    if missing:
        f = missing[0]
        looked = ", ".join((f.name, *f.aliases[:8]))
        instead = f" (or an id column, {f.fallback})" if f.fallback else ""
        raise KeyError(f"no column for '{f.name}'{instead} (looked for {looked}); the file has columns "
                       f"{', '.join(map(str, columns))}. Map it with --field {f.name}=COLUMN")
    report.columns = {k: str(v) for k, v in mapping.items()}
    geometry_columns = frame.attrs.get("geometry_columns")
    if geometry_columns:
        report.columns["geometry"] = "/".join(map(str, geometry_columns))
    report.unused_columns = [str(c) for c in columns if c not in set(mapping.values())]
    decimal = frame.attrs.get("decimal", ".")
    bad = np.zeros(len(frame), dtype=bool)
    out = {}
    id_col = mapping.get(spec.id_field) if spec.id_field else None
    ids = frame[id_col].astype(object).to_numpy() if id_col else np.full(len(frame), None, dtype=object)
    for f in spec.fields:
        if f.name not in mapping:
            out[f.name] = pd.Series([None] * len(frame), dtype=object)
            continue
        col = mapping[f.name]
        values, wrong = convert(frame[col], f, decimal=decimal)
        wrong = wrong.to_numpy()
        for i in np.flatnonzero(wrong):
            if not bad[i]:
                report.reject(int(rows[i]), ids[i], f"column '{col}' value '{frame[col].iat[i]}' is not "
                              + _expected(f), _fix(f))
            bad[i] = True
        for i in _rows_out_of_bounds(values, f):
            if not bad[i]:
                why = out_of_bounds(values.iat[i], f)
                report.reject(int(rows[i]), ids[i], f"column '{col}' value '{frame[col].iat[i]}' is {why}",
                              f"{f.name} must be {_range(f)}: correct the value or leave it empty")
            bad[i] = True
        if f.kind == "text":
            lengths = _text_lengths(values)
            for i in np.flatnonzero(lengths > f.max_length):
                if not bad[i]:
                    named = ids[i] if f.name != "source_id" else None  # an id too long is not repeated
                    report.reject(int(rows[i]), named, f"column '{col}' holds {lengths[i]:,} characters, more "
                                  f"than the {f.max_length:,} a {f.name} may have", "shorten the value")
                bad[i] = True
        if f.required and not f.fallback:
            for i in np.flatnonzero(values.isna().to_numpy() & ~wrong):
                if not bad[i]:
                    report.reject(int(rows[i]), ids[i], f"no value for {f.name} (column '{col}')",
                                  f"fill in {f.name} for every record")
                bad[i] = True
        out[f.name] = values.astype(object).reset_index(drop=True)
    for f in spec.fields:
        if f.fallback and f.fallback in mapping and f.name in out:
            empty = pd.isna(out[f.name]).to_numpy()
            if empty.any():
                out[f.name] = out[f.name].where(~empty, out[f.fallback])
                source = f"column '{mapping[f.name]}' is empty" if f.name in mapping else \
                    f"the file has no {f.name} column"
                report.notes.append(f"{int(empty.sum())} record(s) take their {f.fallback} as their "
                                    f"{f.name} ({source})")
        if f.fallback and f.required:
            for i in np.flatnonzero(pd.isna(out[f.name]).to_numpy() & ~bad):
                report.reject(int(rows[i]), ids[i], f"no {f.name} and no {f.fallback}",
                              f"fill in {f.name} or {f.fallback} for every record")
                bad[i] = True
    canonical = gpd.GeoDataFrame(pd.DataFrame(out), geometry=gpd.GeoSeries([None] * len(frame)),
                                 crs="EPSG:4326")
    canonical.attrs["decimal"] = decimal
    return canonical, bad


def _text_lengths(values: pd.Series) -> np.ndarray:
    """Characters of each text value (0 for a missing one), counted by Arrow in C."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = pc.utf8_length(pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
    return lengths.fill_null(0).to_numpy(zero_copy_only=False)


def _rows_out_of_bounds(values: pd.Series, f) -> np.ndarray:
    """Rows whose number breaks the field's bounds (vectorised; a million rows cost milliseconds)."""
    low, above, top = f.bounds()
    if f.kind not in ("int", "float") or (low is None and top is None):
        return np.array([], dtype=int)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        outside = np.zeros(len(numbers), dtype=bool)
        if low is not None:
            outside |= (numbers <= low) if above else (numbers < low)
        if top is not None:
            outside |= numbers > top
    return np.flatnonzero(outside & ~np.isnan(numbers))


def _range(f) -> str:
    low, above, top = f.bounds()
    parts = []
    if low is not None:
        parts.append(f"above {low:g}" if above else f"at least {low:g}")
    if top is not None:
        parts.append(f"at most {top:g}")
    return " and ".join(parts)


def _expected(f) -> str:
    if f.kind == "vocab":
        return f"a known {f.name.replace('_', ' ')}"
    return {"int": "a whole number", "float": "a number", "date": "a date (YYYY-MM-DD or DD/MM/YYYY, a year in 1900-2100)",
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
