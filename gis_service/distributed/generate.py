"""A generated province of building footprints for national-scale runs (``gis-service demo
national``): as many footprints as asked (10 M in a few minutes), written one regency at a time, so
the generator never holds more than one regency either.

Illustrative, NOT real data. Regencies are 60 km squares in a grid (UTM 49S, inland Kalimantan),
each of 10 districts and 100 villages of 6 km; buildings cluster around a village centre, denser
in some villages than others; the desludging depots stand where the buildings are, with one to
three trucks each. A grid of roads is optional (``road_spacing_m``); without it runs use
``--method buffer``.

Output: a dataset folder (``dataset.Dataset``) with ``villages.parquet`` (GeoParquet polygons),
``buildings/<regency>.parquet`` (GeoParquet footprints) and ``facilities.parquet``; a run makes
each unit's households from its footprints on the worker (``dataset.building_units``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import Transformer

from gis_service.distributed import geoparquet
from gis_service.distributed.dataset import Dataset, Partition, write_edges, write_facilities

METRIC_CRS = "EPSG:32749"
ORIGIN = (400_000.0, 9_700_000.0)  # UTM 49S metres: ~112.1 E, 2.7 S
REGENCY_M = 60_000.0
VILLAGES_ACROSS = 10  # per regency side: 100 villages of 6 km; a district is 2 x 5 villages
PROVINCE = "62"
ID_STRIDE = 10**9  # building ids: regency number * stride + n, ascending within and across regencies


def generate_national(out: Path, *, buildings: int, regencies: int = 20, facilities: int = 500, seed: int = 62,
                      road_spacing_m: float = 0.0, progress: Callable[[int, int], None] | None = None) -> Dataset:
    """Write the dataset folder ``out`` (see the module docstring) and return it. ``road_spacing_m``
    > 0 adds a grid of tertiary roads that far apart, over the whole province."""
    if buildings < 1 or regencies < 1 or facilities < 0:
        raise ValueError("buildings and regencies must be 1 or more, facilities 0 or more")
    if regencies > 99:
        raise ValueError("at most 99 regencies (two-digit Kemendagri codes)")
    out = Path(out)
    rng = np.random.default_rng(seed)
    to_lonlat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    columns = math.ceil(math.sqrt(regencies))
    per_regency = np.full(regencies, buildings // regencies)
    per_regency[: buildings % regencies] += 1
    depots_of = np.bincount(rng.choice(regencies, size=facilities, p=per_regency / per_regency.sum()),
                            minlength=regencies)
    village_rows, depots, partitions = [], [], []
    for r in range(regencies):
        x0 = ORIGIN[0] + (r % columns) * REGENCY_M
        y0 = ORIGIN[1] - (r // columns) * REGENCY_M
        code = f"{PROVINCE}.{r + 1:02d}"
        villages = _villages(code, x0, y0)
        village_rows.append(villages)
        xy = _buildings(int(per_regency[r]), villages, rng)
        ids = (r + 1) * ID_STRIDE + np.arange(1, len(xy) + 1)
        _write_buildings(out / "buildings" / f"{code}.parquet", ids, xy, rng, to_lonlat)
        pick = rng.choice(len(xy), size=min(int(depots_of[r]), len(xy)), replace=False)
        depots.append(xy[pick] + rng.normal(0, 30, (len(pick), 2)))
        partitions.append(Partition(code, len(xy), [float(v) for v in (*xy.min(axis=0), *xy.max(axis=0))]))
        if progress:
            progress(r + 1, regencies)
    _write_villages(out / "villages.parquet", pd.concat(village_rows, ignore_index=True), to_lonlat)
    depot_xy = np.vstack(depots) if depots else np.empty((0, 2))
    write_facilities(_depots(depot_xy, rng), out / "facilities.parquet", METRIC_CRS)
    if road_spacing_m > 0:
        rows = math.ceil(regencies / columns)
        write_edges(_road_grid(columns, rows, road_spacing_m), out / "edges.parquet", METRIC_CRS)
    dataset = Dataset(out, METRIC_CRS, PROVINCE, "regency", partitions, source="buildings", illustrative=True)
    dataset.save()
    return dataset


def _villages(regency: str, x0: float, y0: float) -> pd.DataFrame:
    """100 square villages of a regency, coded district by district (2 rows x 5 columns each)."""
    side = REGENCY_M / VILLAGES_ACROSS
    rows = []
    for i in range(VILLAGES_ACROSS):
        for j in range(VILLAGES_ACROSS):
            district = (i // 2) * 2 + j // 5 + 1
            number = (i % 2) * 5 + j % 5 + 1
            rows.append({"code": f"{regency}.{district:02d}.{2000 + number}", "x0": x0 + j * side,
                         "y0": y0 - (i + 1) * side, "x1": x0 + (j + 1) * side, "y1": y0 - i * side})
    return pd.DataFrame(rows)


def _buildings(n: int, villages: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Building centres: a village's share follows a skewed draw; around its centre, 1 km spread."""
    share = rng.gamma(0.6, size=len(villages))
    count = rng.multinomial(n, share / share.sum())
    v = np.repeat(np.arange(len(villages)), count)
    cx = ((villages["x0"] + villages["x1"]) / 2).to_numpy()[v]
    cy = ((villages["y0"] + villages["y1"]) / 2).to_numpy()[v]
    half = (villages["x1"] - villages["x0"]).to_numpy()[v] / 2 - 20
    x = cx + np.clip(rng.normal(0, 1000, n), -half, half)
    y = cy + np.clip(rng.normal(0, 1000, n), -half, half)
    return np.column_stack([x, y])


def _write_buildings(path: Path, ids: np.ndarray, xy: np.ndarray, rng: np.random.Generator,
                     to_lonlat: Transformer) -> None:
    """Footprints of 6-14 m by 6-14 m around each centre, as GeoParquet polygons (EPSG:4326)."""
    half = rng.uniform(3, 7, (len(xy), 2))
    lon0, lat0 = to_lonlat.transform(xy[:, 0] - half[:, 0], xy[:, 1] - half[:, 1])
    lon1, lat1 = to_lonlat.transform(xy[:, 0] + half[:, 0], xy[:, 1] + half[:, 1])
    table = pa.table({"id": pa.array(ids), "geometry": geoparquet.rectangles(lon0, lat0, lon1, lat1)})
    geoparquet.write(table, path, encoding="polygon", geometry_type="Polygon", row_group_size=500_000)


def _write_villages(path: Path, villages: pd.DataFrame, to_lonlat: Transformer) -> None:
    lon0, lat0 = to_lonlat.transform(villages["x0"].to_numpy(), villages["y0"].to_numpy())
    lon1, lat1 = to_lonlat.transform(villages["x1"].to_numpy(), villages["y1"].to_numpy())
    table = pa.table({"code": pa.array(villages["code"].to_numpy(dtype=object), pa.string()),
                      "geometry": geoparquet.rectangles(lon0, lat0, lon1, lat1)})
    geoparquet.write(table, path, encoding="polygon", geometry_type="Polygon")


def _road_grid(columns: int, rows: int, spacing: float) -> gpd.GeoDataFrame:
    """Straight roads every ``spacing`` metres both ways over the province, cut into edges of at
    most 500 m so that households find a junction within the walking distance."""
    step = spacing / max(1, math.ceil(spacing / 500))
    x = np.arange(ORIGIN[0], ORIGIN[0] + columns * REGENCY_M + 1, step)
    y = np.arange(ORIGIN[1] - rows * REGENCY_M, ORIGIN[1] + 1, step)
    every = round(spacing / step)
    lines = []
    for k, yy in enumerate(y):  # east-west roads
        if k % every == 0:
            lines += [((x0, yy), (x1, yy)) for x0, x1 in pairwise(x)]
    for k, xx in enumerate(x):  # north-south roads
        if k % every == 0:
            lines += [((xx, y0), (xx, y1)) for y0, y1 in pairwise(y)]
    geometry = shapely.linestrings(np.array(lines))
    n = len(lines)
    return gpd.GeoDataFrame({"id": np.arange(1, n + 1), "mode": "road", "class": "tertiary",
                             "speed_kmh": np.full(n, np.nan), "oneway": False, "length_m": np.full(n, step)},
                            geometry=geometry, crs=METRIC_CRS)


def _depots(xy: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    n = len(xy)
    return pd.DataFrame({"id": np.arange(1, n + 1), "type": "desludging_depot", "status": "existing",
                         "capacity": rng.integers(1, 4, n).astype(float), "capacity_unit": "trucks",
                         "service_modes": [None] * n, "feeds_facility_id": pd.array([None] * n, dtype="Int64"),
                         "x": xy[:, 0], "y": xy[:, 1], "service": "lltt"})
