"""Geometry helpers of the demo generator: reprojection, lines sampled by length, smoothing, parts."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon

from gis_service.demo.facts import BBOX, METRIC_CRS, OUTPUT_CRS


@cache
def transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def to_metric(lonlat: Sequence) -> np.ndarray:
    lonlat = np.asarray(lonlat, dtype=float)
    x, y = transformer(OUTPUT_CRS, METRIC_CRS).transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def cumulative_length(xy: np.ndarray) -> np.ndarray:
    return np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]


def point_at(xy: np.ndarray, cum: np.ndarray, d: np.ndarray | float) -> np.ndarray:
    """Points at distances ``d`` along a polyline. Splitting and attaching both use this, so that
    edges meet at bit-identical coordinates."""
    d = np.atleast_1d(d)
    return np.column_stack([np.interp(d, cum, xy[:, 0]), np.interp(d, cum, xy[:, 1])])


def resample(xy: np.ndarray, step: float) -> np.ndarray:
    cum = cumulative_length(xy)
    return point_at(xy, cum, np.linspace(0.0, cum[-1], max(int(cum[-1] // step), 1) + 1))


def smooth(values: np.ndarray, sigma: float, *, periodic: bool = False) -> np.ndarray:
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


def polygon_parts(geom: shapely.Geometry) -> list[Polygon]:
    parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(geom)))
    return [p for p in parts if isinstance(p, Polygon) and p.area > 0]


def as_multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    """A valid MultiPolygon of the polygonal parts (clipping can leave lines and points)."""
    return MultiPolygon(polygon_parts(geom))


def largest_part(geom: shapely.Geometry) -> Polygon:
    return max(polygon_parts(geom), key=lambda p: p.area)


def bbox_metric() -> Polygon:
    box = shapely.segmentize(shapely.box(*BBOX), 0.01)
    return Polygon(to_metric(shapely.get_coordinates(box)))
