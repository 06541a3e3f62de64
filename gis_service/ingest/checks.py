"""Checks shared by the import kinds: codes, ids, duplicates, villages from location, and the
columns every writer starts from."""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from gis_service.ingest.arrays import first_occurrence
from gis_service.ingest.codes import CodeError, normalise_code
from gis_service.ingest.context import Context
from gis_service.ingest.report import Problem


def codes_in_db(ctx: Context, level: str | None = None) -> set[str]:
    sql = "SELECT code FROM admin_area" + (" WHERE level = :level" if level else "")
    return set(ctx.conn.execute(text(sql), {"level": level}).scalars())


def normalise_codes(ctx: Context, column: str, required: bool) -> None:
    """Dotted Kemendagri codes, checked once per distinct value; bad ones reject their rows."""
    f = ctx.frame
    codes, uniques = pd.factorize(f[column], use_na_sentinel=True)
    normal = np.full(len(uniques) + 1, None, dtype=object)  # last slot: missing
    errors: dict[int, CodeError] = {}
    for k, value in enumerate(uniques):
        try:
            normal[k] = normalise_code(value, plain_codes=ctx.options.plain_codes)
        except CodeError as exc:
            errors[k] = exc
    separated = [str(u) for k, u in enumerate(uniques) if normal[k] is not None and str(u).strip() != normal[k]
                 and not str(u).strip().replace(".", "").isdigit()]
    if separated:
        ctx.report.notes.append(f"{len(separated)} {column} value(s) written with other separators read as "
                                f"dotted Kemendagri codes (e.g. {separated[0]} -> "
                                f"{normalise_code(separated[0])})")
    if errors:
        for i in np.flatnonzero(np.isin(codes, list(errors))):
            exc = errors[codes[i]]
            ctx.reject(i, uniques[codes[i]], exc.args[0], exc.args[1])
    if required:
        for i in np.flatnonzero((codes < 0) & ~ctx.bad):
            ctx.reject(i, None, f"no {column}", f"give every record a {column}")
    f[column] = normal[np.where(codes >= 0, codes, len(uniques))]


def check_village_codes(ctx: Context) -> None:
    """Known village codes pass; unknown ones are rejected; missing ones are filled from location."""
    if "village_code" not in ctx.frame:
        ctx.frame["village_code"] = None
    normalise_codes(ctx, "village_code", required=False)
    codes = ctx.frame["village_code"].to_numpy(dtype=object)
    given = ~pd.isna(codes) & ~ctx.bad
    unknown = given & ~pd.Series(codes).isin(codes_in_db(ctx, "village")).to_numpy()
    ids = record_ids(ctx)
    for i in np.flatnonzero(unknown):
        ctx.reject(i, ids[i], f"unknown village code {codes[i]}",
                   "import the village boundaries first (import admin ...) or correct the code")
    assign_villages(ctx)


def assign_villages(ctx: Context) -> None:
    """Fill missing village codes by point-in-polygon against the stored villages (prepared
    polygons queried against a tree of the points, the fast direction)."""
    f = ctx.frame
    todo = np.flatnonzero(f["village_code"].isna().to_numpy() & ~ctx.bad)
    if not len(todo):
        return
    rows = ctx.conn.execute(text(
        "SELECT code, ST_AsBinary(geom) FROM admin_area WHERE level = 'village' AND geom IS NOT NULL"
    )).all()
    if not rows:
        ctx.report.warnings.append(warn("no village boundaries stored: village codes left empty"))
        return
    codes = np.array([r[0] for r in rows], dtype=object)
    polys = shapely.from_wkb([bytes(r[1]) for r in rows])
    pts = np.asarray(f.geometry.array, dtype=object)[todo]
    pts = np.where(shapely.get_type_id(pts) == 0, pts, shapely.point_on_surface(pts))
    tree = shapely.STRtree(pts)
    poly_idx, pt_idx = tree.query(polys, predicate="intersects")
    assigned = np.full(len(todo), None, dtype=object)
    assigned[pt_idx[::-1]] = codes[poly_idx[::-1]]  # first polygon wins on shared edges
    col = f["village_code"].to_numpy(dtype=object).copy()
    col[todo] = assigned
    f["village_code"] = col
    outside = int(pd.isna(assigned).sum())
    ctx.report.notes.append(f"village code assigned from location for {len(todo) - outside} records")
    if outside:
        ctx.report.warnings.append(warn(f"{outside} records lie outside every stored village polygon; "
                                         "their village code stays empty"))


def warn(reason: str) -> Problem:
    return Problem(None, None, reason)


def record_ids(ctx: Context) -> np.ndarray:
    return ctx.frame["_id"].to_numpy(dtype=object)


def source_ids(ctx: Context) -> None:
    """Records without an id are keyed by their location, so a re-import updates them."""
    f = ctx.frame
    if "source_id" not in f or f["source_id"].isna().all():
        wkb = shapely.to_wkb(shapely.set_precision(np.asarray(f.geometry.array, dtype=object), 1e-7))
        f["source_id"] = ["g" + hashlib.sha1(b).hexdigest()[:16] if b is not None else None for b in wkb]
        ctx.report.notes.append("no id column: records are keyed by their location "
                                "(map an id with --field source_id=COLUMN)")
    f["_id"] = f["source_id"]
    missing = f["source_id"].isna().to_numpy()
    for i in np.flatnonzero(missing & ~ctx.bad):
        ctx.reject(i, None, "no id", "give every record an id, or map one with --field source_id=COLUMN")
    reject_duplicates(ctx, "source_id")


def reject_duplicates(ctx: Context, column: str) -> None:
    values_ = ctx.frame[column].to_numpy(dtype=object)
    live = np.flatnonzero(~pd.isna(values_) & ~ctx.bad) if values_.dtype == object else np.array([])
    if not len(live):
        return
    first = first_occurrence(values_[live])
    for k in np.flatnonzero(first != np.arange(len(live))):
        i, v = live[k], values_[live[k]]
        ctx.reject(i, v, f"duplicate {column} {v} (first on row {ctx.rows[live[first[k]]]})",
                   "remove the duplicate or give it its own id")


def metric_measure(ctx: Context, geoms: np.ndarray, how: str) -> np.ndarray:
    """Area (km²) or length (m) in the region's metric CRS."""
    out = np.full(len(geoms), np.nan)
    present = ~shapely.is_missing(geoms)
    if present.any():
        metric = gpd.GeoSeries(geoms[present], crs="EPSG:4326").to_crs(ctx.region.metric_crs)
        out[present] = metric.area / 1e6 if how == "area" else metric.length
    return out


def base_columns(ctx: Context, columns: list[str]) -> pd.DataFrame:
    good = ctx.good()
    out = pd.DataFrame({c: good[c].to_numpy(dtype=object) if c in good else None for c in columns})
    out["source"] = ctx.source
    return out
