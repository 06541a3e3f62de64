"""The demo villages (desa and kelurahan) and their settlements, with generated names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon

from gis_service.demo.facts import (
    CAPITAL_DISTRICT,
    DISTRICT_SEATS,
    DISTRICTS,
    HOUSEHOLDS_PER_SCALE,
    KELURAHAN_NAMES,
)
from gis_service.demo.geometry import as_multipolygon, cumulative_length, polygon_parts
from gis_service.demo.land import SEGMENT_M, Land, River

NAME_PREFIXES = ("Sungai", "Tanjung", "Teluk", "Pematang", "Kuala", "Muara", "Lubuk", "Rantau",
             "Tumbang", "Bangun")


NAME_SECOND = ("Raya", "Baru", "Jaya", "Makmur", "Pinang", "Rambutan", "Bayur", "Kuning", "Lintang",
           "Rejo", "Mulya", "Sari", "Harapan", "Damar", "Rasau", "Keruing", "Panjang", "Lestari",
           "Indah", "Ulin")


def make_villages(land: Land, rng: np.random.Generator) -> pd.DataFrame:
    """~100 villages: seed points strung along the river bank (some inland) and their Voronoi
    cells clipped to the district, so that the villages tile each district exactly."""
    frames = []
    for k, district in enumerate(DISTRICTS):
        seeds = district_seeds(k, land, rng)
        desa = seeds[~seeds.kelurahan].sort_values("y", kind="stable")
        seeds = pd.concat([seeds[seeds.kelurahan], desa], ignore_index=True)
        cells = shapely.voronoi_polygons(shapely.multipoints(seeds[["x", "y"]].to_numpy()),
                                         extend_to=land.districts[k], ordered=True)
        clipped = shapely.intersection(shapely.get_parts(cells), land.districts[k])
        seeds["geometry"] = [as_multipolygon(shapely.segmentize(c, SEGMENT_M)) for c in clipped]
        number = np.where(seeds.kelurahan, 1001, 2001) + seeds.groupby("kelurahan").cumcount()
        seeds["code"] = [f"{district.code}.{n}" for n in number]
        seeds["bps_code"] = [f"{district.bps_code}{i + 1:03d}" for i in range(len(seeds))]
        seeds["district"] = k
        riverside = seeds.index[seeds.river_idx >= 0]
        seeds["seat"] = seeds.index == (0 if seeds.kelurahan.any() else riverside[0])
        frames.append(seeds)
    villages = pd.concat(frames, ignore_index=True)
    villages["side"] = [DISTRICTS[k].side for k in villages.district]
    villages["band"] = [DISTRICTS[k].band for k in villages.district]
    villages["name"] = village_names(villages, rng)
    named_seat = villages.seat & villages.name.isin(list(DISTRICT_SEATS.values()))
    villages["urban"] = villages.kelurahan | named_seat
    factor = (np.select([villages.kelurahan, villages.seat], [9.0, 2.5], 1.0)
              * np.array([1.3, 1.3, 1.1, 0.9, 0.7])[villages.band]
              * np.where(villages.river_idx >= 0, 1.0, 0.6))
    villages["weight"] = factor * rng.lognormal(0.0, 0.35, len(villages))
    return villages


def district_seeds(k: int, land: Land, rng: np.random.Generator) -> pd.DataFrame:
    """Village seed points of one district: three quarters of the desa along the river bank, the
    rest inland; in Seruyan Hilir also the three kelurahan of the capital."""
    district, river = DISTRICTS[k], land.river
    inner = shapely.buffer(land.districts[k], -400.0)
    shapely.prepare(inner)
    kelurahan = kelurahan_seeds(land) if district.code == CAPITAL_DISTRICT else np.empty((0, 2))
    n_desa = district.villages - len(kelurahan)
    bank = river.xy + district.side * 1_500.0 * river.normal
    along = np.flatnonzero(shapely.contains_xy(inner, bank[:, 0], bank[:, 1]))
    if len(kelurahan):  # leave the capital's stretch of the river to the kelurahan
        cum = cumulative_length(river.xy)
        along = along[cum[along] < cum[-1] - 7_000.0]
    n_bank = round(0.75 * n_desa)
    quantile = (np.arange(n_bank) + 0.5 + rng.uniform(-0.25, 0.25, n_bank)) / n_bank
    points, river_idx = [*kelurahan], [nearest_index(river.xy, p) for p in kelurahan]
    for i in along[(quantile * len(along)).astype(int)]:
        for offset in (rng.uniform(700.0, 2_500.0), 900.0, 500.0):
            p = river.xy[i] + district.side * offset * river.normal[i]
            if shapely.contains_xy(inner, *p):
                points.append(p)
                river_idx.append(i)
                break
    taken = np.array(points).reshape(-1, 2)
    inland = inland_seeds(inner, shapely.simplify(river.line, 100.0), taken,
                           district.villages - len(taken), rng)
    xy = np.vstack([taken, inland])
    return pd.DataFrame({
        "x": xy[:, 0], "y": xy[:, 1],
        "river_idx": np.r_[river_idx, np.full(len(inland), -1)].astype(int),
        "kelurahan": np.arange(len(xy)) < len(kelurahan),
    })


def nearest_index(xy: np.ndarray, p: np.ndarray) -> int:
    return int(np.argmin(np.hypot(*(xy - p).T)))


def kelurahan_seeds(land: Land) -> np.ndarray:
    """Kuala Pembuang I at the capital, II up the west bank, the third inland behind them."""
    river = land.river
    cum = cumulative_length(river.xy)
    j = int(np.searchsorted(cum, cum[-1] - 5_000.0))
    return np.vstack([land.capital, river.xy[j] - 1_200.0 * river.normal[j],
                      land.capital + [-2_800.0, 600.0]])


def inland_seeds(area: shapely.Geometry, river: LineString, taken: np.ndarray, count: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Greedy spread of inland villages, preferring points far from the river and each other."""
    xmin, ymin, xmax, ymax = area.bounds
    candidates = rng.uniform([xmin, ymin], [xmax, ymax], size=(2_000, 2))
    candidates = candidates[shapely.contains_xy(area, candidates[:, 0], candidates[:, 1])]
    to_river = shapely.distance(shapely.points(candidates), river)
    chosen, wanted = [*taken], len(taken) + count
    for min_river, min_gap in ((6_000.0, 5_000.0), (2_000.0, 2_500.0), (0.0, 1_000.0)):
        for p, d in zip(candidates, to_river, strict=True):
            if len(chosen) == wanted:
                break
            gap = np.hypot(*(np.array(chosen) - p).T).min() if chosen else np.inf
            if d >= min_river and gap >= min_gap:
                chosen.append(p)
    if len(chosen) < wanted:
        raise RuntimeError("not enough room for the inland villages")
    return np.array(chosen[len(taken):]).reshape(-1, 2)


def village_names(villages: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    """Unique Indonesian-style names; the capital's kelurahan and two district seats keep their
    real names (docs/domain.md §7)."""
    reserved = {*KELURAHAN_NAMES, *DISTRICT_SEATS.values()}
    pool = [f"{a} {b}" for a in NAME_PREFIXES for b in NAME_SECOND if f"{a} {b}" not in reserved]
    pool = [pool[i] for i in rng.permutation(len(pool))]
    fixed = dict(zip(villages.index[villages.kelurahan], KELURAHAN_NAMES))
    for code, name in DISTRICT_SEATS.items():
        fixed[villages.index[villages.seat & villages.code.str.startswith(code + ".")][0]] = name
    generated = iter(pool)
    return [fixed[i] if i in fixed else next(generated) for i in villages.index]


def make_settlements(villages: pd.DataFrame, land: Land, rng: np.random.Generator) -> pd.DataFrame:
    """1-3 settlements per village (more for bigger ones): ellipses of 150-800 m around the seed
    and further along the bank for riverside villages, each clipped to its village."""
    hh_est = HOUSEHOLDS_PER_SCALE * villages.weight / villages.weight.sum()
    rows = []
    for v in villages.itertuples():
        count = 3 if v.kelurahan else 1 + int(hh_est[v.Index] > 250) + int(hh_est[v.Index] > 700)
        shares = np.sort(rng.dirichlet(np.full(count, 4.0)))[::-1]
        centres, axes = [np.array([v.x, v.y])], [semi_axis(hh_est[v.Index] * shares[0])]
        for share in shares[1:]:
            axis = semi_axis(hh_est[v.Index] * share)
            centre = secondary_centre(v, centres, axes, axis, land.river, rng)
            if centre is not None:
                centres.append(centre)
                axes.append(axis)
        kept = shares[:len(centres)] / shares[:len(centres)].sum()
        inside = shapely.buffer(v.geometry, -10.0)
        for j, (centre, axis, share) in enumerate(zip(centres, axes, kept, strict=True)):
            rows.append({"village": v.Index, "name": v.name + ("", " Dusun II", " Dusun III")[j],
                         "x": centre[0], "y": centre[1], "axis": axis, "share": share,
                         "geometry": settlement_ellipse(centre, axis, v, land.river, inside, rng)})
    return pd.DataFrame(rows)


def semi_axis(households: float) -> float:
    return float(np.clip(14.0 * np.sqrt(households), 150.0, 800.0))


def secondary_centre(v, centres: list[np.ndarray], axes: list[float], axis: float,
                      river: River, rng: np.random.Generator) -> np.ndarray | None:
    """A further hamlet of the village: up or down the bank, or around an inland village."""
    if v.river_idx >= 0:
        step = int(rng.integers(8, 18))
        idx = np.clip(v.river_idx + step * np.array([1, -1, 2, -2]), 0, len(river.xy) - 1)
        offset = rng.uniform(400.0, 1_500.0)
        candidates = river.xy[idx] + v.side * offset * river.normal[idx]
    else:
        angle = rng.uniform(0, 2 * np.pi) + np.arange(6) * np.pi / 3
        candidates = centres[0] + rng.uniform(1_500.0, 3_000.0) * np.column_stack(
            [np.cos(angle), np.sin(angle)])
    room = shapely.buffer(v.geometry, -(axis + 100.0))
    for p in candidates:
        apart = all(np.hypot(*(p - c)) >= a + axis + 300.0 for c, a in zip(centres, axes))
        if apart and shapely.contains_xy(room, *p):
            return p
    return None


def settlement_ellipse(centre: np.ndarray, axis: float, v, river: River, inside: shapely.Geometry,
             rng: np.random.Generator) -> Polygon:
    """An ellipse along the river (random orientation inland), clipped to the village."""
    if v.river_idx >= 0:
        nx, ny = river.normal[v.river_idx]
        angle = np.degrees(np.arctan2(-nx, ny))
    else:
        angle = rng.uniform(0.0, 180.0)
    minor = max(axis * rng.uniform(0.5, 0.85), 150.0)
    shape = affinity.scale(Point(0, 0).buffer(1.0, quad_segs=12), axis, minor, origin=(0, 0))
    shape = affinity.translate(affinity.rotate(shape, angle, origin=(0, 0)), *centre)
    parts = polygon_parts(shape.intersection(inside))
    return next((p for p in parts if p.contains(Point(centre))), max(parts, key=lambda p: p.area))
