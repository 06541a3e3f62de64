"""Deterministic generator of an ILLUSTRATIVE demo regency modelled on Kabupaten Seruyan.

These are NOT real Seruyan data. Boundaries, villages, households, facilities, network and pilot
records are drawn from numpy random streams spawned from one seed, so that the service can be
shown and tested end to end without downloading anything; nothing is read from disk (the real
boundaries must not end up in the repository).

Facts it follows (shared/DOMAIN.md):
- section 7: Kabupaten Seruyan (Kemendagri 62.07, BPS 6208) in Kalimantan Tengah (62); capital
  Kuala Pembuang in Kecamatan Seruyan Hilir; the 10 kecamatan with their real names, Kemendagri
  and BPS codes; 97 desa + 3 kelurahan; about 158,000 people (158,282 in June 2024); about
  15,200 km2; the Seruyan river running north-south to the Java Sea with settlements strung along
  it; coastal swamp in the south, hilly forest in the north; many villages reached only by river.
- section 2: the sanitation ladder and its rules (aman = septic tank emptied in the last 5 years,
  layak_bersama = shared toilet, babs = no toilet).
- section 4: an IPLT at least 2 km from settlements with road access; IPAL komunal for 50-100
  households. No public source names an IPLT or IPAL komunal in Seruyan, so every facility is
  marked "(ilustrasi)".
- section 5: about 4 persons per household; unit costs are user-entered, so no facility costs.

Geometry is built in the region's metric CRS (EPSG:32749, UTM 49S: metres for every distance,
area and buffer) and returned in EPSG:4326 (lon/lat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

SEED = 62_07
METRIC_CRS = "EPSG:32749"
OUTPUT_CRS = "EPSG:4326"
YEAR = 2024
HOUSEHOLDS_PER_SCALE = 42_200  # x ~3.75 persons = ~158,000 people (DOMAIN.md 7: 158,282)
SURVEY_SOURCE = "demo (illustrative)"
OPERATOR = "UPTD PAL Seruyan (ilustrasi)"
PILOT_NAME = "SERUYAN BARASIH LLTT (ilustrasi)"
CAPITAL_LONLAT = (112.55, -3.38)  # Kuala Pembuang, at the mouth of the river


class District(NamedTuple):
    """A real kecamatan (DOMAIN.md 7) and where the demo puts it."""

    code: str  # Kemendagri
    name: str
    bps_code: str  # from the crosswalk in DOMAIN.md 7, never derived from the Kemendagri code
    band: int  # 0 = coastal south ... 4 = hilly north
    side: int  # -1 west bank of the river, +1 east bank
    villages: int  # illustrative; the ten add up to the real 97 desa + 3 kelurahan


DISTRICTS: tuple[District, ...] = (
    District("62.07.01", "Seruyan Hilir", "6208010", 0, -1, 13),
    District("62.07.02", "Seruyan Tengah", "6208040", 3, -1, 13),
    District("62.07.03", "Danau Sembuluh", "6208020", 1, -1, 9),
    District("62.07.04", "Hanau", "6208030", 2, -1, 12),
    District("62.07.05", "Seruyan Hulu", "6208050", 4, -1, 11),
    District("62.07.06", "Seruyan Hilir Timur", "6208011", 0, 1, 8),
    District("62.07.07", "Seruyan Raya", "6208021", 1, 1, 8),
    District("62.07.08", "Danau Seluluk", "6208031", 2, 1, 9),
    District("62.07.09", "Batu Ampar", "6208041", 3, 1, 9),
    District("62.07.10", "Suling Tambun", "6208051", 4, 1, 8),
)
CAPITAL_DISTRICT = "62.07.01"
KELURAHAN_NAMES = ("Kuala Pembuang I", "Kuala Pembuang II")  # the third one is generated
DISTRICT_SEATS = {"62.07.03": "Telaga Pulang", "62.07.06": "Pematang Panjang"}

# Hand-drawn outline (clockwise from the north-west, lon/lat); it passes through the river mouth.
_OUTLINE_LONLAT = (
    (111.91, -0.70), (112.03, -0.70), (112.14, -1.00), (112.15, -1.40), (112.19, -1.80),
    (112.30, -2.20), (112.46, -2.60), (112.62, -2.95), (112.76, -3.10), (112.84, -3.28),
    (112.72, -3.35), (112.58, -3.40), (112.45, -3.47), (112.22, -3.53), (112.02, -3.49),
    (111.86, -3.28), (111.89, -2.95), (111.97, -2.60), (111.90, -2.20), (111.84, -1.80),
    (111.83, -1.40), (111.87, -1.00),
)
# Valley line of the river, upstream (north) to the mouth on the Java Sea coast.
_RIVER_LONLAT = (
    (111.99, -0.80), (112.00, -1.00), (111.97, -1.40), (112.00, -1.80), (112.08, -2.20),
    (112.22, -2.60), (112.35, -2.95), (112.48, -3.20), (112.58, -3.40),
)
_BAND_LATS = (-3.05, -2.60, -2.10, -1.55)  # borders between the five south-to-north bands
_BBOX = (111.45, -3.54, 112.85, -0.70)
_STEP_M = 200.0  # river sampling
_SEGMENT_M = 500.0  # densify before reprojection so that edges stay straight in both CRSs
_MARGIN_M = 5.0  # households stay this far inside their village polygon
_PREFIXES = ("Sungai", "Tanjung", "Teluk", "Pematang", "Kuala", "Muara", "Lubuk", "Rantau",
             "Tumbang", "Bangun")
_SECOND = ("Raya", "Baru", "Jaya", "Makmur", "Pinang", "Rambutan", "Bayur", "Kuning", "Lintang",
           "Rejo", "Mulya", "Sari", "Harapan", "Damar", "Rasau", "Keruing", "Panjang", "Lestari",
           "Indah", "Ulin")
_RUNGS = ("aman", "layak_sendiri", "layak_bersama", "belum_layak", "babs")
# Illustrative mean shares of the rungs by village class (urban capital best, remote north worst).
_LADDER = {
    "urban": (0.12, 0.62, 0.12, 0.11, 0.03),
    "road": (0.05, 0.60, 0.14, 0.15, 0.06),
    "river": (0.01, 0.53, 0.16, 0.20, 0.10),
    "remote": (0.002, 0.46, 0.14, 0.248, 0.15),
}

_LISTS = ("service_modes", "village_codes")  # joined with ';' in files
_EMPTY_NUMBERS = ("capex_idr", "opex_idr_per_year", "speed_kmh")  # None on purpose: user-entered
Frames = dict[str, pd.DataFrame | gpd.GeoDataFrame]


def generate_region(*, seed: int = SEED, scale: float = 1.0) -> Frames:
    """Generate the demo regency: frames keyed by import kind, in load order.

    The same seed gives identical frames. ``scale`` multiplies only the households (and so the
    population), leaving the geography alone, so that large loads can be tested on the same map.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    geo_rng, household_rng, pilot_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    land = _land(geo_rng)
    villages = _villages(land, geo_rng)
    settlements = _settlements(villages, land, geo_rng)
    network = _network(land, villages, settlements, geo_rng)
    facilities = _facilities(villages, settlements, network, geo_rng)
    households, hh_village, hh_settlement = _households(
        villages, settlements, network, scale, household_rng)
    members = households["members"].to_numpy()
    return {
        "admin": _admin_frame(land, villages),
        "population": _population_frame(villages, hh_village, members),
        "settlements": _settlement_frame(villages, settlements, hh_settlement, members),
        "households": households,
        "facilities": facilities,
        "service_areas": _service_area_frame(facilities, settlements),
        "network": _network_frame(network),
        "pilots": _pilot_frame(villages, pilot_rng),
    }


def write_files(region: Frames, out_dir: Path) -> dict[str, Path]:
    """Write spatial frames as GeoPackages and tables as UTF-8 CSV (ISO dates), the formats the
    importer reads; list columns are joined with ';'. Returns kind -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind, frame in region.items():
        flat = frame.copy()
        for column in flat.columns.intersection(_LISTS):
            flat[column] = flat[column].map(lambda v: ";".join(v) if v else None)
        for column in flat.columns.intersection(_EMPTY_NUMBERS):  # a number field, not text
            flat[column] = flat[column].astype(float)
        if isinstance(frame, gpd.GeoDataFrame):
            path = out_dir / f"{kind}.gpkg"
            path.unlink(missing_ok=True)
            flat.to_file(path, layer=kind, driver="GPKG", engine="pyogrio")
        else:
            path = out_dir / f"{kind}.csv"
            flat.to_csv(path, index=False, encoding="utf-8")
        paths[kind] = path
    return paths


# ---- geometry helpers (metric CRS) --------------------------------------------------------------

@cache
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _to_metric(lonlat: Sequence) -> np.ndarray:
    lonlat = np.asarray(lonlat, dtype=float)
    x, y = _transformer(OUTPUT_CRS, METRIC_CRS).transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def _cumlen(xy: np.ndarray) -> np.ndarray:
    return np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]


def _at(xy: np.ndarray, cum: np.ndarray, d: np.ndarray | float) -> np.ndarray:
    """Points at distances ``d`` along a polyline. Splitting and attaching both use this, so that
    edges meet at bit-identical coordinates."""
    d = np.atleast_1d(d)
    return np.column_stack([np.interp(d, cum, xy[:, 0]), np.interp(d, cum, xy[:, 1])])


def _resample(xy: np.ndarray, step: float) -> np.ndarray:
    cum = _cumlen(xy)
    return _at(xy, cum, np.linspace(0.0, cum[-1], max(int(cum[-1] // step), 1) + 1))


def _smooth(values: np.ndarray, sigma: float, *, periodic: bool = False) -> np.ndarray:
    """Gaussian smoothing along axis 0. Open curves are padded by point reflection and keep their
    end points, so roads still start at the capital and the river still ends at its mouth."""
    half = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    if periodic:
        padded = np.concatenate([values[-half:], values, values[:half]])
    else:
        head = 2 * values[0] - values[half:0:-1]
        tail = 2 * values[-1] - values[-2:-half - 2:-1]
        padded = np.concatenate([head, values, tail])
    out = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="valid"), 0, padded)
    if not periodic:
        out[0], out[-1] = values[0], values[-1]
    return out


def _polygons(geom: shapely.Geometry) -> list[Polygon]:
    parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(geom)))
    return [p for p in parts if isinstance(p, Polygon) and p.area > 0]


def _multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    """A valid MultiPolygon of the polygonal parts (clipping can leave lines and points)."""
    return MultiPolygon(_polygons(geom))


def _largest(geom: shapely.Geometry) -> Polygon:
    return max(_polygons(geom), key=lambda p: p.area)


def _bbox_metric() -> Polygon:
    box = shapely.segmentize(shapely.box(*_BBOX), 0.01)
    return Polygon(_to_metric(shapely.get_coordinates(box)))


# ---- land: outline, river, districts ------------------------------------------------------------

@dataclass(frozen=True)
class _River:
    valley: np.ndarray  # smooth valley line, upstream to the mouth, metres
    normal: np.ndarray  # unit normals of the valley line pointing east (left of the flow)
    xy: np.ndarray  # the meandering river itself, sampled every _STEP_M
    line: LineString


@dataclass(frozen=True)
class _Land:
    outline: Polygon
    river: _River
    districts: list[MultiPolygon]  # in DISTRICTS order
    capital: np.ndarray


def _land(rng: np.random.Generator) -> _Land:
    river = _river(rng)
    outline = _outline(rng, river.xy[-1])
    return _Land(outline, river, _districts(outline, river, rng), _to_metric([CAPITAL_LONLAT])[0])


def _river(rng: np.random.Generator) -> _River:
    """A smoothed valley line plus seeded meanders that fade out towards the fixed mouth."""
    valley = _resample(_smooth(_resample(_to_metric(_RIVER_LONLAT), _STEP_M), 25.0), _STEP_M)
    tangent = np.gradient(valley, axis=0)
    tangent /= np.hypot(*tangent.T)[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    s = _cumlen(valley)
    wave = sum(amp * np.sin(2 * np.pi * s / length + rng.uniform(0, 2 * np.pi))
               for amp, length in ((600.0, 7_000.0), (1_000.0, 13_000.0), (1_400.0, 23_000.0)))
    fade = np.clip((s[-1] - s) / 8_000.0, 0.0, 1.0) ** 2
    xy = valley + (wave * fade)[:, None] * normal
    line = LineString(xy)
    if not line.is_simple:
        raise RuntimeError("generated river crosses itself")
    return _River(valley, normal, xy, line)


def _outline(rng: np.random.Generator, mouth: np.ndarray) -> Polygon:
    """The hand-drawn outline with a seeded low-frequency wobble (none near the river mouth),
    clipped to the real regency's bounding box."""
    ring = shapely.segmentize(shapely.linearrings(_to_metric(_OUTLINE_LONLAT)), 1_000.0)
    pts = shapely.get_coordinates(ring)[:-1]
    tangent = np.roll(pts, -1, axis=0) - np.roll(pts, 1, axis=0)
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]]) / np.hypot(*tangent.T)[:, None]
    wobble = _smooth(rng.normal(size=len(pts)), 8.0, periodic=True)
    wobble *= 2_500.0 / wobble.std()
    taper = np.clip(np.hypot(*(pts - mouth).T) / 20_000.0 - 0.25, 0.0, 1.0)
    shape = _largest(Polygon(pts + normal * (wobble * taper)[:, None]))
    return _largest(shape.intersection(_bbox_metric()))


def _districts(outline: Polygon, river: _River, rng: np.random.Generator) -> list[MultiPolygon]:
    """Five south-to-north bands with wavy borders, each split by the river into a west-bank and
    an east-bank kecamatan (as Seruyan Hilir and Seruyan Hilir Timur are)."""
    far = 300_000.0
    xmin, ymin, xmax, ymax = outline.bounds
    head, mouth = river.xy[0], river.xy[-1]
    west = Polygon(np.vstack([[xmin - far, head[1] + far], head + [0.0, far], river.xy,
                              mouth - [0.0, far], [xmin - far, mouth[1] - far]]))
    x = np.linspace(xmin - far, xmax + far, 400)
    borders = [np.full_like(x, ymin - far)]
    for lat in _BAND_LATS:
        y0 = _to_metric([(112.2, lat)])[0, 1]
        borders.append(y0 + 2_500.0 * np.sin(2 * np.pi * x / 40_000.0 + rng.uniform(0, 2 * np.pi)))
    borders.append(np.full_like(x, ymax + far))
    bands = [Polygon(np.vstack([np.column_stack([x, lo]), np.column_stack([x, hi])[::-1]]))
             for lo, hi in pairwise(borders)]
    out = []
    for district in DISTRICTS:
        band = outline.intersection(bands[district.band])
        part = band.intersection(west) if district.side < 0 else band.difference(west)
        out.append(_multipolygon(shapely.segmentize(part, _SEGMENT_M)))
    return out


# ---- villages -----------------------------------------------------------------------------------

def _villages(land: _Land, rng: np.random.Generator) -> pd.DataFrame:
    """~100 villages: seed points strung along the river bank (some inland) and their Voronoi
    cells clipped to the district, so that the villages tile each district exactly."""
    frames = []
    for k, district in enumerate(DISTRICTS):
        seeds = _district_seeds(k, land, rng)
        desa = seeds[~seeds.kelurahan].sort_values("y", kind="stable")
        seeds = pd.concat([seeds[seeds.kelurahan], desa], ignore_index=True)
        cells = shapely.voronoi_polygons(shapely.multipoints(seeds[["x", "y"]].to_numpy()),
                                         extend_to=land.districts[k], ordered=True)
        clipped = shapely.intersection(shapely.get_parts(cells), land.districts[k])
        seeds["geometry"] = [_multipolygon(shapely.segmentize(c, _SEGMENT_M)) for c in clipped]
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
    villages["name"] = _village_names(villages, rng)
    named_seat = villages.seat & villages.name.isin(list(DISTRICT_SEATS.values()))
    villages["urban"] = villages.kelurahan | named_seat
    factor = (np.select([villages.kelurahan, villages.seat], [9.0, 2.5], 1.0)
              * np.array([1.3, 1.3, 1.1, 0.9, 0.7])[villages.band]
              * np.where(villages.river_idx >= 0, 1.0, 0.6))
    villages["weight"] = factor * rng.lognormal(0.0, 0.35, len(villages))
    return villages


def _district_seeds(k: int, land: _Land, rng: np.random.Generator) -> pd.DataFrame:
    """Village seed points of one district: three quarters of the desa along the river bank, the
    rest inland; in Seruyan Hilir also the three kelurahan of the capital."""
    district, river = DISTRICTS[k], land.river
    inner = shapely.buffer(land.districts[k], -400.0)
    shapely.prepare(inner)
    kelurahan = _kelurahan_seeds(land) if district.code == CAPITAL_DISTRICT else np.empty((0, 2))
    n_desa = district.villages - len(kelurahan)
    bank = river.xy + district.side * 1_500.0 * river.normal
    along = np.flatnonzero(shapely.contains_xy(inner, bank[:, 0], bank[:, 1]))
    if len(kelurahan):  # leave the capital's stretch of the river to the kelurahan
        cum = _cumlen(river.xy)
        along = along[cum[along] < cum[-1] - 7_000.0]
    n_bank = round(0.75 * n_desa)
    quantile = (np.arange(n_bank) + 0.5 + rng.uniform(-0.25, 0.25, n_bank)) / n_bank
    points, river_idx = [*kelurahan], [_nearest(river.xy, p) for p in kelurahan]
    for i in along[(quantile * len(along)).astype(int)]:
        for offset in (rng.uniform(700.0, 2_500.0), 900.0, 500.0):
            p = river.xy[i] + district.side * offset * river.normal[i]
            if shapely.contains_xy(inner, *p):
                points.append(p)
                river_idx.append(i)
                break
    taken = np.array(points).reshape(-1, 2)
    inland = _inland_seeds(inner, shapely.simplify(river.line, 100.0), taken,
                           district.villages - len(taken), rng)
    xy = np.vstack([taken, inland])
    return pd.DataFrame({
        "x": xy[:, 0], "y": xy[:, 1],
        "river_idx": np.r_[river_idx, np.full(len(inland), -1)].astype(int),
        "kelurahan": np.arange(len(xy)) < len(kelurahan),
    })


def _nearest(xy: np.ndarray, p: np.ndarray) -> int:
    return int(np.argmin(np.hypot(*(xy - p).T)))


def _kelurahan_seeds(land: _Land) -> np.ndarray:
    """Kuala Pembuang I at the capital, II up the west bank, the third inland behind them."""
    river = land.river
    cum = _cumlen(river.xy)
    j = int(np.searchsorted(cum, cum[-1] - 5_000.0))
    return np.vstack([land.capital, river.xy[j] - 1_200.0 * river.normal[j],
                      land.capital + [-2_800.0, 600.0]])


def _inland_seeds(area: shapely.Geometry, river: LineString, taken: np.ndarray, count: int,
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


def _village_names(villages: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    """Unique Indonesian-style names; the capital's kelurahan and two district seats keep their
    real names (DOMAIN.md 7)."""
    reserved = {*KELURAHAN_NAMES, *DISTRICT_SEATS.values()}
    pool = [f"{a} {b}" for a in _PREFIXES for b in _SECOND if f"{a} {b}" not in reserved]
    pool = [pool[i] for i in rng.permutation(len(pool))]
    fixed = dict(zip(villages.index[villages.kelurahan], KELURAHAN_NAMES))
    for code, name in DISTRICT_SEATS.items():
        fixed[villages.index[villages.seat & villages.code.str.startswith(code + ".")][0]] = name
    generated = iter(pool)
    return [fixed[i] if i in fixed else next(generated) for i in villages.index]


# ---- settlements --------------------------------------------------------------------------------

def _settlements(villages: pd.DataFrame, land: _Land, rng: np.random.Generator) -> pd.DataFrame:
    """1-3 settlements per village (more for bigger ones): ellipses of 150-800 m around the seed
    and further along the bank for riverside villages, each clipped to its village."""
    hh_est = HOUSEHOLDS_PER_SCALE * villages.weight / villages.weight.sum()
    rows = []
    for v in villages.itertuples():
        count = 3 if v.kelurahan else 1 + int(hh_est[v.Index] > 250) + int(hh_est[v.Index] > 700)
        shares = np.sort(rng.dirichlet(np.full(count, 4.0)))[::-1]
        centres, axes = [np.array([v.x, v.y])], [_semi_axis(hh_est[v.Index] * shares[0])]
        for share in shares[1:]:
            axis = _semi_axis(hh_est[v.Index] * share)
            centre = _secondary_centre(v, centres, axes, axis, land.river, rng)
            if centre is not None:
                centres.append(centre)
                axes.append(axis)
        kept = shares[:len(centres)] / shares[:len(centres)].sum()
        inside = shapely.buffer(v.geometry, -10.0)
        for j, (centre, axis, share) in enumerate(zip(centres, axes, kept, strict=True)):
            rows.append({"village": v.Index, "name": v.name + ("", " Dusun II", " Dusun III")[j],
                         "x": centre[0], "y": centre[1], "axis": axis, "share": share,
                         "geometry": _ellipse(centre, axis, v, land.river, inside, rng)})
    return pd.DataFrame(rows)


def _semi_axis(households: float) -> float:
    return float(np.clip(14.0 * np.sqrt(households), 150.0, 800.0))


def _secondary_centre(v, centres: list[np.ndarray], axes: list[float], axis: float,
                      river: _River, rng: np.random.Generator) -> np.ndarray | None:
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


def _ellipse(centre: np.ndarray, axis: float, v, river: _River, inside: shapely.Geometry,
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
    parts = _polygons(shape.intersection(inside))
    return next((p for p in parts if p.contains(Point(centre))), max(parts, key=lambda p: p.area))


# ---- network ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Network:
    edges: pd.DataFrame  # mode, class, name, xy (metric coordinates)
    on_road: np.ndarray  # per settlement: reached by a road
    landing: dict[int, np.ndarray]  # village index -> its landing on the river
    iplt: np.ndarray  # pilot IPLT site
    iplt_upstream: np.ndarray  # candidate IPLT site near the end of the main road
    road_end: int  # settlement where the main road ends


def _network(land: _Land, villages: pd.DataFrame, settlements: pd.DataFrame,
             rng: np.random.Generator) -> _Network:
    """River split at the village landings; a main road from the capital up the west bank to
    about half-way and an east road to two district seats, with tracks to the villages near
    them; footways from every other settlement to the nearest landing or road node. All edges
    meet at shared end points."""
    river = land.river
    edges: list[tuple[str, str, str | None, np.ndarray]] = []
    main = settlements.groupby("village").head(1)
    riverside = main[(villages.river_idx >= 0).to_numpy()[main.village]]
    cum = _cumlen(river.xy)
    at = _merge_cuts(shapely.line_locate_point(
        river.line, shapely.points(riverside[["x", "y"]].to_numpy())), 300.0, cum[-1])
    landing_xy = _at(river.xy, cum, at)
    landing = dict(zip(riverside.village, landing_xy, strict=True))
    for piece in _split(river.xy, at):
        edges.append(("river", "river", "Sungai Seruyan", piece))

    node = settlements[["x", "y"]].to_numpy().copy()
    on_road = np.zeros(len(settlements), dtype=bool)
    side = villages.side.to_numpy()[settlements.village]
    main_road, road_end = _main_road(land, villages, settlements, rng)
    east_road = _east_road(land, villages, settlements, rng)
    sites = [_iplt_site(main_road, land.outline, settlements, True),
             _iplt_site(main_road, land.outline, settlements, False)]
    for road, name, reach, branch_side in (
            (main_road, "Jalan Poros Seruyan (ilustrasi)", 10_000.0, -1),
            (east_road, "Jalan Lingkar Timur (ilustrasi)", 8_000.0, 1)):
        near = shapely.distance(shapely.points(node), LineString(road)) <= reach
        chosen = np.flatnonzero(near & (side == branch_side))
        extra = np.array(sites) if road is main_road else np.empty((0, 2))
        pieces, branches, ends = _attach(road, np.vstack([node[chosen], extra]), 150.0)
        primary = road is main_road
        for piece, mid in pieces:
            edges.append(("road", "primary" if primary and mid < 0.6 else "secondary", name, piece))
        edges += [("road", "track", None, b) for b in branches]
        node[chosen] = ends[:len(chosen)]
        on_road[chosen] = True

    connected = on_road.copy()
    for s in riverside.index:
        edges.append(("path", "footway", None, np.vstack([node[s], landing[riverside.village[s]]])))
        connected[s] = True
    targets = np.vstack([landing_xy, *(e[3][[0, -1]] for e in edges if e[0] == "road")])
    for s in np.flatnonzero(~connected):
        t = targets[np.argmin(np.hypot(*(targets - node[s]).T))]
        edges.append(("path", "footway", None, np.vstack([node[s], t])))
    frame = pd.DataFrame(edges, columns=["mode", "class", "name", "xy"])
    return _Network(frame, on_road, landing, sites[0], sites[1], road_end)


def _merge_cuts(d: np.ndarray, tol: float, length: float) -> np.ndarray:
    """Snap positions along a line that lie within ``tol`` of each other (or of an end) together,
    so that nearby villages share a landing or junction instead of making sliver edges."""
    rep, anchor = np.empty_like(d, dtype=float), -np.inf
    for i in np.argsort(d, kind="stable"):
        if d[i] - anchor > tol:
            anchor = d[i]
        rep[i] = anchor
    rep[rep <= tol] = 0.0
    rep[rep >= length - tol] = length
    return rep


def _split(xy: np.ndarray, at: np.ndarray) -> list[np.ndarray]:
    """Cut a polyline at distances ``at`` (ends excluded); pieces share their cut points."""
    cum = _cumlen(xy)
    bounds = np.unique(np.r_[0.0, at[(at > 0) & (at < cum[-1])], cum[-1]])
    ends = _at(xy, cum, bounds)
    return [np.vstack([ends[i], xy[(cum > a) & (cum < b)], ends[i + 1]])
            for i, (a, b) in enumerate(pairwise(bounds))]


def _attach(road: np.ndarray, targets: np.ndarray, tol: float
            ) -> tuple[list[tuple[np.ndarray, float]], list[np.ndarray], np.ndarray]:
    """Split a road where tracks leave it to the targets. Returns its pieces (with their middle
    as a fraction of the road), the tracks, and each target's node (its junction when it lies on
    the road itself)."""
    cum = _cumlen(road)
    at = _merge_cuts(shapely.line_locate_point(LineString(road), shapely.points(targets)), tol,
                     cum[-1])
    junction = _at(road, cum, at)
    gap = np.hypot(*(targets - junction).T)
    bounds = np.unique(np.r_[0.0, at, cum[-1]])
    pieces = list(zip(_split(road, at), (bounds[:-1] + bounds[1:]) / 2 / cum[-1], strict=True))
    branches = [np.vstack([j, t]) for j, t, g in zip(junction, targets, gap, strict=True)
                if g >= 1.0]
    return pieces, branches, np.where((gap >= 1.0)[:, None], targets, junction)


def _main_road(land: _Land, villages: pd.DataFrame, settlements: pd.DataFrame,
               rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """From the capital north along the west bank, 3-6 km off the river, to a village about
    half-way up (the border between bands 2 and 3). Returns the line and its end settlement."""
    river = land.river
    y_half = _to_metric([(112.2, _BAND_LATS[2])])[0, 1]
    upper = np.flatnonzero(river.valley[:, 1] >= y_half)[-1]
    idx = np.arange(len(river.valley) - 30, upper, -30)
    offset = rng.uniform(3_200.0, 5_700.0, len(idx))
    way = river.valley[idx] - offset[:, None] * river.normal[idx]
    main = settlements.groupby("village").head(1)
    west = main[((villages.side < 0) & (villages.band == 2)).to_numpy()[main.village]]
    end = west.index[np.argmin(np.hypot(west.x - way[-1, 0], west.y - way[-1, 1]))]
    capital = settlements.loc[settlements.village == 0, ["x", "y"]].to_numpy()[0]
    line = np.vstack([capital, way, settlements.loc[end, ["x", "y"]].to_numpy(float)])
    return _smooth(_resample(line, _SEGMENT_M), 3.0), int(end)


def _east_road(land: _Land, villages: pd.DataFrame, settlements: pd.DataFrame,
               rng: np.random.Generator) -> np.ndarray:
    """From the capital across the river to the seats of Seruyan Hilir Timur and Seruyan Raya."""
    seats = [villages.index[villages.seat & (villages.district == k)][0]
             for k, d in enumerate(DISTRICTS) if d.code in ("62.07.06", "62.07.07")]
    first = settlements.groupby("village").head(1).set_index("village")
    stops = [land.capital, *first.loc[seats, ["x", "y"]].to_numpy(float)]
    points = [stops[0]]
    for a, b in pairwise(stops):
        normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.hypot(*(b - a))
        points += [(a + b) / 2 + rng.uniform(-2_000.0, 2_000.0) * normal, b]
    return _smooth(_resample(np.array(points), _SEGMENT_M), 3.0)


def _iplt_site(road: np.ndarray, outline: Polygon, settlements: pd.DataFrame,
               from_capital: bool) -> np.ndarray:
    """The first spot beside the main road, on the side away from the river, at least 2.3 km
    from every settlement (DOMAIN.md 4: >= 2 km from settlements, road access). Scans up from the
    capital for the pilot plant and down from the road's end for the upstream candidate."""
    cum = _cumlen(road)
    at = np.arange(5_000.0, 40_000.0, 500.0) if from_capital else cum[-1] - np.arange(
        3_000.0, 40_000.0, 500.0)
    tangent = _at(road, cum, at + 10.0) - _at(road, cum, at - 10.0)
    away = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.hypot(*tangent.T)[:, None]
    away *= np.where(away[:, :1] > 0, -1.0, 1.0)  # west, away from the river
    offsets = np.array([400.0, 800.0, 1_200.0, 1_600.0])
    candidates = (_at(road, cum, at)[:, None, :] + offsets[None, :, None] * away[:, None, :])
    candidates = candidates.reshape(-1, 2)
    clear = shapely.distance(shapely.points(candidates),
                             shapely.union_all(settlements.geometry.to_numpy())) >= 2_300.0
    ok = clear & shapely.contains_xy(shapely.buffer(outline, -1_000.0), *candidates.T)
    if not ok.any():
        raise RuntimeError("no IPLT site clear of the settlements along the main road")
    return candidates[np.flatnonzero(ok)[0]]


# ---- facilities ---------------------------------------------------------------------------------

def _facilities(villages: pd.DataFrame, settlements: pd.DataFrame, network: _Network,
                rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The pilot IPLT and depot, a few existing MCK, one IPAL komunal and the candidate sites.
    All illustrative; no costs (DOMAIN.md 5: unit costs are user-entered)."""
    first = settlements.groupby("village").head(1).set_index("village")
    road_village = np.zeros(len(villages), dtype=bool)
    road_village[settlements.village[network.on_road]] = True
    size = villages.weight.to_numpy()

    def at_village(v: int, dx: float = 60.0, dy: float = 40.0) -> np.ndarray:
        return first.loc[v, ["x", "y"]].to_numpy(float) + [dx, dy]

    def row(name: str, kind: str, status: str, xy: np.ndarray, capacity: float | None = None,
            unit: str | None = None, operator: str | None = OPERATOR, institution: str = "uptd",
            year: int | None = None, modes: tuple[str, ...] = ("road",)) -> dict:
        return {"name": name, "type": kind, "status": status, "capacity": capacity,
                "capacity_unit": unit, "operator": operator, "institution_type": institution,
                "year": year, "capex_idr": None, "opex_idr_per_year": None,
                "service_modes": list(modes), "x": xy[0], "y": xy[1]}

    kelurahan = villages.index[villages.kelurahan]
    river_only = villages.index[(villages.river_idx >= 0) & ~road_village & (villages.band <= 3)]
    mck = river_only[np.argsort(-size[river_only], kind="stable")[:3]]
    upstream = villages.index[(villages.river_idx >= 0) & ~road_village & (villages.band == 3)]
    landing_village = upstream[np.argmax(size[upstream])]
    desa_on_road = villages.index[road_village & ~villages.kelurahan]
    band1 = desa_on_road[(villages.band[desa_on_road] == 1).to_numpy()]
    seat_east = villages.index[villages.seat & (villages.code.str.startswith("62.07.06."))][0]
    end_village = int(settlements.village[network.road_end])
    biggest = desa_on_road[np.argmax(size[desa_on_road])]
    landing = network.landing[landing_village]
    to_bank = first.loc[landing_village, ["x", "y"]].to_numpy(float) - landing
    rows = [
        row("IPLT Kuala Pembuang (ilustrasi)", "iplt", "pilot", network.iplt, 20.0, "m3_per_day",
            year=YEAR),
        row("Depot LLTT Kuala Pembuang (ilustrasi)", "desludging_depot", "pilot",
            at_village(kelurahan[0], 250.0, 150.0), 2.0, "trucks", year=YEAR),
        *(row(f"MCK {villages.name[v]} (ilustrasi)", "mck", "existing", at_village(v),
              float(rng.integers(20, 41)), "households", f"KPP {villages.name[v]} (ilustrasi)",
              "kpp", int(rng.integers(2018, 2023)), ("river", "path")) for v in mck),
        row(f"IPAL komunal {villages.name[kelurahan[1]]} (ilustrasi)", "ipal_komunal", "existing",
            at_village(kelurahan[1], 150.0, -100.0), 70.0, "households",
            f"KPP {villages.name[kelurahan[1]]} (ilustrasi)", "kpp", 2021),
        row(f"Calon IPLT {DISTRICTS[villages.district[end_village]].name} (ilustrasi)", "iplt",
            "candidate", network.iplt_upstream, 10.0, "m3_per_day", modes=("road", "river")),
        *(row(f"Calon depot sedot tinja {villages.name[v]} (ilustrasi)", "desludging_depot",
              "candidate", at_village(v, -80.0, 60.0), 1.0, "trucks")
          for v in (end_village, seat_east, band1[np.argmax(size[band1])])),
        row(f"Calon IPAL komunal {villages.name[biggest]} (ilustrasi)", "ipal_komunal",
            "candidate", at_village(biggest, 120.0, 90.0), 80.0, "households", None, "kpp"),
        row(f"Calon dermaga transfer lumpur {villages.name[landing_village]} (ilustrasi)",
            "transfer_station", "candidate", landing + 40.0 * to_bank / np.hypot(*to_bank),
            modes=("river",)),
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "source_id", [f"F{i + 1:03d}" for i in range(len(frame))])
    frame["year"] = frame["year"].astype("Int64")
    # depots deliver to the pilot IPLT, the river transfer station to the candidate upstream IPLT
    plant = frame.loc[frame.status.eq("pilot") & frame.type.eq("iplt"), "source_id"].iat[0]
    upstream = frame.loc[frame.status.eq("candidate") & frame.type.eq("iplt"), "source_id"].iat[0]
    feeds = {"desludging_depot": plant, "transfer_station": upstream}
    frame["feeds"] = np.array([feeds.get(t) for t in frame.type], dtype=object)
    points = shapely.points(frame[["x", "y"]].to_numpy())
    frame["village_code"] = _village_of(points, villages)
    return _to_output(frame.drop(columns=["x", "y"]), points)


def _service_area_frame(facilities: gpd.GeoDataFrame, settlements: pd.DataFrame) -> gpd.GeoDataFrame:
    """The piped area of the existing IPAL komunal as a planner would draw it: the part of the
    nearest settlement within 400 m of the plant (for ``coverage run --method polygon``)."""
    plant = facilities[facilities["type"].eq("ipal_komunal") & facilities["status"].eq("existing")]
    xy = np.column_stack(_transformer(OUTPUT_CRS, METRIC_CRS).transform(
        plant.geometry.x.to_numpy(), plant.geometry.y.to_numpy()))
    outlines = settlements.geometry.to_numpy()
    areas = []
    for p in xy:
        near = outlines[np.argmin(shapely.distance(outlines, shapely.Point(p)))]
        areas.append(_multipolygon(shapely.intersection(near, shapely.Point(p).buffer(400.0)).union(
            shapely.Point(p).buffer(60.0))))
    return _to_output(pd.DataFrame({"source_id": [f"A{i + 1:03d}" for i in range(len(plant))],
                                    "facility": plant["source_id"].to_numpy(),
                                    "name": [f"Wilayah perpipaan {n}" for n in plant["name"]]}), areas)


def _village_of(points: np.ndarray, villages: pd.DataFrame) -> list[str]:
    tree = shapely.STRtree(villages.geometry.to_numpy())
    found, village = tree.query(points, predicate="within")
    codes = dict(zip(found, villages.code.to_numpy()[village], strict=True))
    if len(codes) < len(points):
        raise RuntimeError("a facility lies outside every village")
    return [codes[i] for i in range(len(points))]


# ---- households ---------------------------------------------------------------------------------

def _households(villages: pd.DataFrame, settlements: pd.DataFrame, network: _Network,
                scale: float, rng: np.random.Generator
                ) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Household points scattered around their settlement, strictly inside their village, with a
    ladder mix by village class and attributes consistent with the rung (DOMAIN.md 2).
    Vectorised: no Python loop per household. Also returns each one's village and settlement."""
    counts = _allocate(round(HOUSEHOLDS_PER_SCALE * scale), villages.weight.to_numpy())
    n = int(counts.sum())
    village = np.repeat(np.arange(len(villages)), counts)
    settlement = _pick_settlement(settlements, len(villages), village, rng)
    x, y = _scatter(villages, settlements, village, settlement, rng)

    road_village = np.zeros(len(villages), dtype=bool)
    road_village[settlements.village[network.on_road]] = True
    klass = np.select([villages.urban, road_village,
                       (villages.band <= 2) & (villages.river_idx >= 0)],
                      ["urban", "road", "river"], "remote")
    shares = np.array([rng.dirichlet(200.0 * np.array(_LADDER[c])) for c in klass])
    rung = (rng.random(n)[:, None] > np.cumsum(shares, axis=1)[village, :4]).sum(axis=1)
    urban = villages.urban.to_numpy()[village]
    layak = (rung == 1) | (rung == 2)
    septic = (rung == 0) | (layak & (rng.random(n) < np.where(urban, 0.95, 0.8))) | (
        (rung == 3) & (rng.random(n) < 0.1))
    start = np.datetime64(f"{YEAR}-03-01") + rng.integers(0, 200, len(villages))
    surveyed = start[village] + rng.integers(0, 10, n)
    emptied = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    emptied[rung == 0] = surveyed[rung == 0] - rng.integers(60, 1_765, int((rung == 0).sum()))
    old = layak & septic & (rng.random(n) < 0.3)  # emptied, but more than 5 years ago
    emptied[old] = surveyed[old] - rng.integers(1_900, 4_000, int(old.sum()))
    toilet, disposal = _toilets(rung, septic, urban, rng)
    lon, lat = _transformer(METRIC_CRS, OUTPUT_CRS).transform(x, y)
    width = max(7, len(str(n)))
    frame = gpd.GeoDataFrame({
        "source_id": np.strings.add("H", np.strings.zfill(np.arange(1, n + 1).astype(str), width)),
        "village_code": villages.code.to_numpy()[village],
        "ladder_rung": np.array(_RUNGS, dtype=object)[rung],
        "has_septic_tank": septic,
        "shared_toilet": (rung == 2) | ((rung == 3) & (rng.random(n) < 0.2)),
        "toilet_type": toilet,
        "disposal": disposal,
        "last_desludged": emptied.astype(object),
        "members": 1 + np.minimum(rng.poisson(2.75, n), 8),
        "survey_source": SURVEY_SOURCE,
        "survey_date": surveyed.astype(object),
    }, geometry=gpd.points_from_xy(lon, lat), crs=OUTPUT_CRS)
    return frame, village, settlement


def _toilets(rung: np.ndarray, septic: np.ndarray, urban: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Toilet type and disposal to go with each surveyed rung: layak without a tank is a gooseneck
    over a pit (rural by the pit rule; the few urban ones keep their surveyed rung, which wins);
    belum layak is a non-gooseneck toilet, public toilets only, or a gooseneck draining to the
    open; BABS has no toilet."""
    n = len(rung)
    toilet = np.full(n, "gooseneck", dtype=object)
    disposal = np.where(septic, "septic_tank", "pit").astype(object)
    poor = np.flatnonzero(rung == 3)
    kind = rng.integers(0, 3, len(poor))
    toilet[poor[kind == 0]] = "non_gooseneck"
    toilet[poor[kind == 1]] = "public"
    disposal[poor[kind == 1]] = None
    disposal[poor[(kind == 2) & ~urban[poor] & ~septic[poor]]] = "open"
    toilet[rung == 4], disposal[rung == 4] = "none", None
    return toilet, disposal


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` exactly (largest remainders)."""
    raw = total * weights / weights.sum()
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(counts - raw, kind="stable")[:total - counts.sum()]] += 1
    return counts


def _pick_settlement(settlements: pd.DataFrame, n_villages: int, village: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Each household's settlement, drawn by the settlements' shares of their village."""
    local = settlements.groupby("village").cumcount().to_numpy()
    first = np.searchsorted(settlements.village.to_numpy(), np.arange(n_villages))
    shares = np.zeros((n_villages, 3))
    shares[settlements.village, local] = settlements.share
    cum = np.cumsum(shares, axis=1)
    cum[cum >= 1.0 - 1e-9] = np.inf  # never step past a village's last settlement
    return first[village] + (rng.random(len(village))[:, None] >= cum[village]).sum(axis=1)


def _scatter(villages: pd.DataFrame, settlements: pd.DataFrame, village: np.ndarray,
             settlement: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian scatter around the settlement centre (one in ten further out, along the fields),
    kept strictly inside the village shrunk by a margin. Points within the centre's clear radius
    need no polygon test; the rest are tested, redrawn twice, then placed inside that radius."""
    shrunk = shapely.buffer(villages.geometry.to_numpy(), -_MARGIN_M)
    shapely.prepare(shrunk)
    centre = settlements[["x", "y"]].to_numpy()
    centre_pts = shapely.points(centre)
    own = shrunk[settlements.village.to_numpy()]
    if not shapely.contains(own, centre_pts).all():
        raise RuntimeError("a settlement centre lies outside its village")
    clear = shapely.distance(centre_pts, shapely.boundary(own))
    sigma = 0.5 * settlements.axis.to_numpy()
    n = len(settlement)
    spread = np.where(rng.random(n) < 0.1, 1_500.0, sigma[settlement])
    xy = centre[settlement] + rng.normal(size=(n, 2)) * spread[:, None]
    todo = np.arange(n)
    for attempt in range(3):
        off = xy[todo] - centre[settlement[todo]]
        near = np.hypot(*off.T) < clear[settlement[todo]]
        far = todo[~near]
        inside = shapely.contains_xy(shrunk[village[far]], xy[far, 0], xy[far, 1])
        todo = far[~inside]
        if attempt < 2:
            spread = 0.5 * sigma[settlement[todo]]
            xy[todo] = centre[settlement[todo]] + rng.normal(size=(len(todo), 2)) * spread[:, None]
    radius = 0.9 * clear[settlement[todo]] * np.sqrt(rng.random(len(todo)))
    angle = rng.uniform(0, 2 * np.pi, len(todo))
    xy[todo] = centre[settlement[todo]] + radius[:, None] * np.column_stack(
        [np.cos(angle), np.sin(angle)])
    return xy[:, 0], xy[:, 1]


# ---- output frames ------------------------------------------------------------------------------

def _to_output(frame: pd.DataFrame, geometry: Sequence) -> gpd.GeoDataFrame:
    """Attach metric geometry and reproject to EPSG:4326; anything reprojection made invalid is
    repaired (polygons keep their MultiPolygon type)."""
    series = gpd.GeoSeries(list(geometry), index=frame.index, crs=METRIC_CRS).to_crs(OUTPUT_CRS)
    bad = series.notna() & ~series.is_valid
    series[bad] = [_multipolygon(g) if isinstance(g, MultiPolygon) else shapely.make_valid(g)
                   for g in series[bad]]
    return gpd.GeoDataFrame(frame, geometry=series, crs=OUTPUT_CRS)


def _admin_frame(land: _Land, villages: pd.DataFrame) -> gpd.GeoDataFrame:
    regency = _multipolygon(shapely.union_all(land.districts))
    # the province (62, Kalimantan Tengah) has no outline here: the importer adds it from its built-in
    # list of Kemendagri province codes, as for a real regency file
    rows = [("62.07", "Kabupaten Seruyan", "regency", None, None, "6208", regency)]
    rows += [(d.code, d.name, "district", None, None, d.bps_code, g)
             for d, g in zip(DISTRICTS, land.districts, strict=True)]
    rows += [(v.code, v.name, "village", "kelurahan" if v.kelurahan else "desa",
              "urban" if v.urban else "rural", v.bps_code, v.geometry)
             for v in villages.itertuples()]
    frame = pd.DataFrame(rows, columns=["code", "name", "level", "village_kind", "urban_rural",
                                        "bps_code", "geometry"])
    return _to_output(frame.drop(columns="geometry"), frame.geometry)


def _population_frame(villages: pd.DataFrame, village: np.ndarray,
                      members: np.ndarray) -> pd.DataFrame:
    n = len(villages)
    return pd.DataFrame({
        "code": villages.code, "year": YEAR,
        "population": np.bincount(village, weights=members, minlength=n).astype(np.int64),
        "households": np.bincount(village, minlength=n),
    })


def _settlement_frame(villages: pd.DataFrame, settlements: pd.DataFrame, settlement: np.ndarray,
                      members: np.ndarray) -> gpd.GeoDataFrame:
    n = len(settlements)
    frame = pd.DataFrame({
        "source_id": [f"S{i + 1:04d}" for i in range(n)],
        "name": settlements["name"],
        "village_code": villages.code.to_numpy()[settlements.village],
        "population": np.bincount(settlement, weights=members, minlength=n).astype(np.int64),
        "households": np.bincount(settlement, minlength=n),
        "year": YEAR,
    })
    return _to_output(frame, settlements.geometry)


def _network_frame(network: _Network) -> gpd.GeoDataFrame:
    edges = network.edges
    frame = pd.DataFrame({
        "source_id": [f"E{i + 1:05d}" for i in range(len(edges))],
        "mode": edges["mode"], "class": edges["class"], "name": edges["name"],
        "speed_kmh": np.full(len(edges), None, dtype=object), "oneway": False,
    })
    lines = shapely.segmentize([LineString(xy) for xy in edges.xy], _SEGMENT_M)
    return _to_output(frame, lines)


def _pilot_frame(villages: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Twelve monthly records of an illustrative scheduled-desludging pilot in the capital:
    emptyings growing over the year, ~2.5-3 m3 each, a Rp150,000 fee, costs a little above it."""
    months = np.arange(f"{YEAR}-01", f"{YEAR + 1}-01", dtype="datetime64[M]")
    emptyings = np.clip(np.round(np.linspace(27, 41, 12) + rng.normal(0, 2.5, 12)), 25, 45)
    emptyings = emptyings.astype(int)
    paying = emptyings - rng.integers(0, 4, 12)
    trips = emptyings + rng.integers(0, 3, 12)
    return pd.DataFrame({
        "pilot": PILOT_NAME,
        "programme": "SERUYAN BARASIH / PPSP",
        "operator": OPERATOR,
        "institution_type": "uptd",
        "village_codes": [list(villages.code[villages.kelurahan]) for _ in months],
        "period_start": months.astype("datetime64[D]").astype(object),
        "period_end": ((months + 1).astype("datetime64[D]") - 1).astype(object),
        "households_served": emptyings,
        "emptyings": emptyings,
        "sludge_m3": np.round(emptyings * rng.uniform(2.55, 2.95, 12), 1),
        "truck_trips": trips,
        "mean_trip_minutes": np.round(rng.uniform(40.0, 90.0, 12), 1),
        "working_days": rng.integers(20, 25, 12),
        "trucks": 2,  # the pilot depot's fleet
        "opex_idr": np.round(trips * 165_000 * rng.uniform(0.95, 1.15, 12), -3),
        "revenue_idr": paying * 150_000.0,
        "households_paying": paying,
        "wtp_idr": np.round(rng.uniform(110_000, 180_000, 12), -4),
    })
