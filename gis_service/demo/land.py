"""The demo region's land: its outline, the river along it and the five districts (bands)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon

from gis_service.demo.facts import CAPITAL_LONLAT, DISTRICTS
from gis_service.demo.geometry import (
    as_multipolygon,
    bbox_metric,
    cumulative_length,
    largest_part,
    resample,
    smooth,
    to_metric,
)

# Hand-drawn outline (clockwise from the north-west, lon/lat); it passes through the river mouth.
OUTLINE_LONLAT = (
    (111.91, -0.70), (112.03, -0.70), (112.14, -1.00), (112.15, -1.40), (112.19, -1.80),
    (112.30, -2.20), (112.46, -2.60), (112.62, -2.95), (112.76, -3.10), (112.84, -3.28),
    (112.72, -3.35), (112.58, -3.40), (112.45, -3.47), (112.22, -3.53), (112.02, -3.49),
    (111.86, -3.28), (111.89, -2.95), (111.97, -2.60), (111.90, -2.20), (111.84, -1.80),
    (111.83, -1.40), (111.87, -1.00),
)


# Valley line of the river, upstream (north) to the mouth on the Java Sea coast.
RIVER_LONLAT = (
    (111.99, -0.80), (112.00, -1.00), (111.97, -1.40), (112.00, -1.80), (112.08, -2.20),
    (112.22, -2.60), (112.35, -2.95), (112.48, -3.20), (112.58, -3.40),
)


BAND_LATS = (-3.05, -2.60, -2.10, -1.55)  # borders between the five south-to-north bands


RIVER_STEP_M = 200.0  # river sampling


SEGMENT_M = 500.0  # densify before reprojection so that edges stay straight in both CRSs


@dataclass(frozen=True)
class River:
    valley: np.ndarray  # smooth valley line, upstream to the mouth, metres
    normal: np.ndarray  # unit normals of the valley line pointing east (left of the flow)
    xy: np.ndarray  # the meandering river itself, sampled every RIVER_STEP_M
    line: LineString


@dataclass(frozen=True)
class Land:
    outline: Polygon
    river: River
    districts: list[MultiPolygon]  # in DISTRICTS order
    capital: np.ndarray


def make_land(rng: np.random.Generator) -> Land:
    river = make_river(rng)
    outline = make_outline(rng, river.xy[-1])
    return Land(outline, river, make_districts(outline, river, rng), to_metric([CAPITAL_LONLAT])[0])


def make_river(rng: np.random.Generator) -> River:
    """A smoothed valley line plus seeded meanders that fade out towards the fixed mouth."""
    valley = resample(smooth(resample(to_metric(RIVER_LONLAT), RIVER_STEP_M), 25.0), RIVER_STEP_M)
    tangent = np.gradient(valley, axis=0)
    tangent /= np.hypot(*tangent.T)[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    s = cumulative_length(valley)
    wave = sum(amp * np.sin(2 * np.pi * s / length + rng.uniform(0, 2 * np.pi))
               for amp, length in ((600.0, 7_000.0), (1_000.0, 13_000.0), (1_400.0, 23_000.0)))
    fade = np.clip((s[-1] - s) / 8_000.0, 0.0, 1.0) ** 2
    xy = valley + (wave * fade)[:, None] * normal
    line = LineString(xy)
    if not line.is_simple:
        raise RuntimeError("generated river crosses itself")
    return River(valley, normal, xy, line)


def make_outline(rng: np.random.Generator, mouth: np.ndarray) -> Polygon:
    """The hand-drawn outline with a seeded low-frequency wobble (none near the river mouth),
    clipped to the real regency's bounding box."""
    ring = shapely.segmentize(shapely.linearrings(to_metric(OUTLINE_LONLAT)), 1_000.0)
    pts = shapely.get_coordinates(ring)[:-1]
    tangent = np.roll(pts, -1, axis=0) - np.roll(pts, 1, axis=0)
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]]) / np.hypot(*tangent.T)[:, None]
    wobble = smooth(rng.normal(size=len(pts)), 8.0, periodic=True)
    wobble *= 2_500.0 / wobble.std()
    taper = np.clip(np.hypot(*(pts - mouth).T) / 20_000.0 - 0.25, 0.0, 1.0)
    shape = largest_part(Polygon(pts + normal * (wobble * taper)[:, None]))
    return largest_part(shape.intersection(bbox_metric()))


def make_districts(outline: Polygon, river: River, rng: np.random.Generator) -> list[MultiPolygon]:
    """Five south-to-north bands with wavy borders, each split by the river into a west-bank and
    an east-bank kecamatan (as Seruyan Hilir and Seruyan Hilir Timur are)."""
    far = 300_000.0
    xmin, ymin, xmax, ymax = outline.bounds
    head, mouth = river.xy[0], river.xy[-1]
    west = Polygon(np.vstack([[xmin - far, head[1] + far], head + [0.0, far], river.xy,
                              mouth - [0.0, far], [xmin - far, mouth[1] - far]]))
    x = np.linspace(xmin - far, xmax + far, 400)
    borders = [np.full_like(x, ymin - far)]
    for lat in BAND_LATS:
        y0 = to_metric([(112.2, lat)])[0, 1]
        borders.append(y0 + 2_500.0 * np.sin(2 * np.pi * x / 40_000.0 + rng.uniform(0, 2 * np.pi)))
    borders.append(np.full_like(x, ymax + far))
    bands = [Polygon(np.vstack([np.column_stack([x, lo]), np.column_stack([x, hi])[::-1]]))
             for lo, hi in pairwise(borders)]
    out = []
    for district in DISTRICTS:
        band = outline.intersection(bands[district.band])
        part = band.intersection(west) if district.side < 0 else band.difference(west)
        out.append(as_multipolygon(shapely.segmentize(part, SEGMENT_M)))
    return out
