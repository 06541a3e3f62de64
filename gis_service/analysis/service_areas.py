"""Service-area polygons for the maps: a radius around a facility, or a network isochrone.

An isochrone for band ``t`` is the area whose households the coverage step counts as reachable,
drawn rather than listed: every point within walking reach of a node the service reaches in time
(network minutes, plus the walk at ``walk_speed_kmh`` up to ``max_snap_m``, plus the landing
penalty when boarding at a river node). Computed in the metric CRS.

Dissolving thousands of walking discs per facility made province-size runs slow, so each facility
is drawn on a raster of square cells over its reach. Every cell gets the least minutes at which a
node in some cell reaches the cell on foot, measured between the nearest points of the two
squares; so one grid serves all bands, a band is the cells at or under it, and GDAL polygonises it.
Guarantee: a band's polygon covers every point reached within the band (through any reached node,
not only its nearest), overreaches that area by less than two cell diagonals, and lies inside the
polygons of the larger bands. The per-household results never depend on the polygons.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import shapely
from rasterio import features
from scipy import ndimage

from gis_service.analysis import network as net

CELLS_ACROSS = 128
"""Default cell: the facility's reach (bounding box) / 128 - about 250 m for an hour by truck on
15 km/h tracks - but at least max_snap_m / 10 (50 m), which keeps the walking stencil small."""
_CANVAS_CELLS = 1 << 22
"""Band cells polygonised per GDAL call: its fixed cost per call (ms) outweighs a facility's small
grid, so many are done at once; the bound keeps memory flat."""

Tile = tuple[int, float, np.ndarray, np.ndarray, float]
"""(facility, band, cells inside (rows = y), x/y of the first cell's corner, cell size)."""


def radius_areas(facility_xy: np.ndarray, radius_m: float) -> np.ndarray:
    """One disc per facility (metric CRS)."""
    return shapely.buffer(shapely.points(facility_xy), radius_m, quad_segs=16)


def isochrones(graph: net.Graph, facility_xy: np.ndarray, thresholds: list[float], *,
               params: net.NetworkParams, times: sp.csr_matrix | None = None,
               cell_m: float | None = None) -> list[tuple[int, float, shapely.Geometry]]:
    """(facility index, band, MultiPolygon) for every facility on the network and band it reaches.

    ``times`` reuses the caller's ``net.travel_times`` of the facilities that
    ``snap_facilities(..., layers=None)`` places on the network (in input order), computed with a
    limit of at least ``max(thresholds)``; without it they are computed here. ``cell_m`` fixes the
    raster cell in metres instead of the per-facility default (``CELLS_ACROSS``); each cell costs
    about (max_snap_m / cell_m)^2 operations.
    """
    if cell_m is not None and not cell_m > 0:
        raise ValueError("cell_m must be positive")
    node = net.snap_facilities(graph, facility_xy, params=params, layers=None)
    on_network = np.flatnonzero(node >= 0)
    bands = sorted(thresholds)
    if times is None:
        times = net.travel_times(graph, node[on_network], limit_min=bands[-1])
    elif times.shape[0] != len(on_network):
        raise ValueError(f"times has {times.shape[0]} rows for {len(on_network)} facilities "
                         "on the network")
    boarding = np.where(graph.node_layer == net.RIVER, params.landing_penalty_min, 0.0)
    out: list[tuple[int, float, shapely.Geometry]] = []
    tiles: list[Tile] = []
    pending = 0
    for row, f in enumerate(on_network):
        nodes = times.indices[times.indptr[row]:times.indptr[row + 1]]
        minutes = times.data[times.indptr[row]:times.indptr[row + 1]] + boarding[nodes]
        keep = minutes <= bands[-1] + net.EPS_MIN
        if not keep.any():
            continue
        xy = graph.node_xy[nodes[keep]]
        size = cell_m if cell_m is not None else _default_cell(xy, params)
        grid, corner = _minutes_grid(np.floor(xy / size).astype(np.int64), minutes[keep],
                                     _walk_minutes(size, params))
        for band in bands:
            inside = grid <= band + net.EPS_MIN
            if inside.any():
                tiles.append(_tile(int(f), float(band), inside, corner, size))
                pending += tiles[-1][2].size
        if pending >= _CANVAS_CELLS:
            out += _polygonise(tiles)
            tiles, pending = [], 0
    return out + _polygonise(tiles)


def _default_cell(xy: np.ndarray, params: net.NetworkParams) -> float:
    """Cell size that draws a reach (nodes plus the walk around them) CELLS_ACROSS cells wide."""
    span = np.ptp(xy, axis=0).max() + 2 * params.max_snap_m
    return max(span / CELLS_ACROSS, params.max_snap_m / 10, 1.0)


def _walk_minutes(size: float, params: net.NetworkParams) -> np.ndarray:
    """Minutes to walk to a cell at each (row, column) offset, between the nearest points of the
    two squares so that no point of either is missed; inf beyond ``max_snap_m``."""
    k = int(params.max_snap_m // size) + 1
    gap = np.maximum(np.abs(np.arange(-k, k + 1)) - 1, 0) * size
    metres = np.hypot(gap[:, None], gap[None, :])
    return np.where(metres <= params.max_snap_m, params.walk_minutes(metres), np.inf)


def _minutes_grid(cell: np.ndarray, minutes: np.ndarray,
                  walk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least minutes per cell (rows = y) over the nodes' cells grown by the walk, and the lattice
    (column, row) of its first cell. The walk is a min-plus filter over the nodes' cells."""
    k = walk.shape[0] // 2
    corner = cell.min(axis=0) - k
    col, row = (cell - corner).T
    nodes = np.full((row.max() + k + 1, col.max() + k + 1), np.inf)
    np.minimum.at(nodes, (row, col), minutes)
    reach = np.isfinite(walk)
    grid = ndimage.grey_erosion(nodes, footprint=reach, structure=-np.where(reach, walk, 0.0),
                                mode="constant", cval=np.inf)
    return grid, corner


def _tile(f: int, band: float, inside: np.ndarray, corner: np.ndarray, size: float) -> Tile:
    """The band's cells cropped to their bounding box (a 30-minute band is a corner of the
    60-minute grid), with the x/y of the crop's first corner."""
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    crop = inside[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return f, band, crop, (corner + (cols[0], rows[0])) * size, size


def _polygonise(tiles: list[Tile]) -> list[tuple[int, float, shapely.Geometry]]:
    """One MultiPolygon per tile. The tiles are stacked on one canvas a blank row apart, each
    painted with its number, so that one GDAL call polygonises them all."""
    if not tiles:
        return []
    tops = np.cumsum([0] + [len(t[2]) + 1 for t in tiles])
    canvas = np.zeros((tops[-1], max(t[2].shape[1] for t in tiles)), np.int32)
    for n, (_, _, inside, _, _) in enumerate(tiles):
        canvas[tops[n]:tops[n] + inside.shape[0], :inside.shape[1]][inside] = n + 1
    owner, ring_count, ring_size, vertices = [], [], [], []
    for shape, value in features.shapes(canvas, mask=canvas > 0):  # GDAL's polygons, in raster order
        owner.append(int(value) - 1)
        ring_count.append(len(shape["coordinates"]))
        for ring in shape["coordinates"]:
            ring_size.append(len(ring))
            vertices.extend(ring)
    owner = np.asarray(owner, np.int64)
    at = np.repeat(np.repeat(owner, ring_count), ring_size)  # each vertex's tile
    origin = np.array([t[3] for t in tiles], float)[at]
    size = np.array([t[4] for t in tiles], float)[at]
    xy = np.asarray(vertices, float).reshape(-1, 2)
    xy = np.column_stack([xy[:, 0] * size + origin[:, 0], (xy[:, 1] - tops[:-1][at]) * size + origin[:, 1]])
    polygons = shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy, (
        np.concatenate([[0], np.cumsum(ring_size)]), np.concatenate([[0], np.cumsum(ring_count)])))
    order = np.argsort(owner, kind="stable")  # each tile's polygons in GDAL's order
    multi = shapely.multipolygons(polygons[order], indices=owner[order])  # every tile has a cell: one each
    return [(f, band, m) for (f, band, *_), m in zip(tiles, multi)]
