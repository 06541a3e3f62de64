"""Which village holds each of a million points (footprint centroids), without making a point
object per footprint.

Most points lie well inside one village. A grid over the villages finds them at the cost of an
array lookup; only the points near a boundary get the exact point-in-polygon test:

1. Cells that a village boundary may cross are marked: each boundary segment is sampled at half
   a cell, and the marks are grown by one cell. Any point of a boundary is then at least three
   quarters of a cell away from every unmarked cell, so an unmarked cell never holds a boundary
   point, float rounding of the points' cells included.
2. The unmarked cells fall into connected regions (``scipy.ndimage.label``). No boundary
   crosses a region, so each lies wholly in one village (the first, where villages overlap) or
   outside all of them. One exact test of a cell centre per region names it.
3. Points in marked cells (about a tenth) get the exact test: ``shapely.intersects_xy`` on the
   prepared polygon, for the points under its box.

The result equals the exact test on every point (``tests/test_village_lookup.py`` compares
them on Seruyan's real village outlines). Villages that are not polygons or multipolygons (a
collection with lines) get the exact test for every point; invalid polygons should be made valid
first (``dataset.building_units`` does), as GEOS answers for them depend on how it is asked."""

from __future__ import annotations

import numpy as np
import shapely
from scipy import ndimage

GRID_CELLS = 1 << 21
"""The most cells the grid has (2 M: 8 MB of labels), whatever the villages' extent."""
CELLS_PER_VILLAGE = 64
"""Cells across a village of median width: finer marks fewer points near a boundary, at the cost
of a larger grid. 64 measured fastest on a generated regency of 500,000 footprints."""


def villages_of(xy: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """The index of the polygon holding each point (the first, on a shared edge or where polygons
    overlap; -1: none). ``xy`` and the polygons in one CRS."""
    found = np.full(len(xy), -1, dtype=np.int64)
    polygons = np.asarray(polygons, dtype=object)
    if not len(xy) or not len(polygons):
        return found
    bounds = shapely.bounds(polygons)
    has_area = np.isfinite(bounds).all(axis=1)
    if not has_area.any():  # only empty polygons
        return found
    kinds = shapely.get_type_id(polygons[has_area])
    if not np.isin(kinds, (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)).all():
        return _exact(xy, polygons, bounds)  # a collection's lines or points hold points too: no shortcut
    grid = _Grid.over(bounds[has_area])
    row, col = grid.cells(xy)
    inside = (row >= 0) & (row < grid.shape[0]) & (col >= 0) & (col < grid.shape[1])
    near = np.zeros(len(xy), bool)
    if inside.any():
        at = np.flatnonzero(inside)
        cell = row[at] * grid.shape[1] + col[at]
        regions, count = ndimage.label(~grid.boundary(polygons[has_area]))
        region = regions.ravel()[cell]  # 0: a marked cell
        near[at] = region == 0
        clear = np.flatnonzero(region)
        found[at[clear]] = _region_villages(grid, region[clear], cell[clear], count, polygons, bounds)[region[clear]]
    exact = np.flatnonzero(near)  # outside the grid is outside every polygon's box: -1 already
    found[exact] = _exact(xy[exact], polygons, bounds)
    return found


class _Grid:
    """Square cells over the villages' extent, one cell of margin all round."""

    def __init__(self, origin: np.ndarray, cell: float, shape: tuple[int, int]):
        self.origin, self.cell, self.shape = origin, cell, shape

    @classmethod
    def over(cls, bounds: np.ndarray) -> _Grid:
        width = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
        x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
        span_x, span_y = bounds[:, 2].max() - x0, bounds[:, 3].max() - y0
        resolution = float(np.spacing(np.abs(bounds).max())) * 2**20  # samples half a cell apart stay apart
        cell = max(float(np.median(width)) / CELLS_PER_VILLAGE,
                   float(np.sqrt((span_x + 1e-12) * (span_y + 1e-12) / GRID_CELLS)), resolution, 1e-9)
        shape = (int(span_y / cell) + 3, int(span_x / cell) + 3)
        while shape[0] * shape[1] > 2 * GRID_CELLS:  # a long thin extent: coarser still
            cell *= 2
            shape = (int(span_y / cell) + 3, int(span_x / cell) + 3)
        return cls(np.array([x0 - cell, y0 - cell]), cell, shape)

    def cells(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of each point (column by column: a reduction across (n, 2) rows is slow)."""
        col = np.floor((xy[:, 0] - self.origin[0]) / self.cell)
        row = np.floor((xy[:, 1] - self.origin[1]) / self.cell)
        big = float(max(self.shape) + 1)  # far points stay far, without integer overflow
        row, col = np.clip(np.nan_to_num(row, nan=-1.0), -1, big), np.clip(np.nan_to_num(col, nan=-1.0), -1, big)
        return row.astype(np.int64), col.astype(np.int64)  # NaN: off the grid, in no village

    def centres(self, flat: np.ndarray) -> np.ndarray:
        row, col = np.divmod(flat, self.shape[1])
        return np.column_stack([self.origin[0] + (col + 0.5) * self.cell, self.origin[1] + (row + 0.5) * self.cell])

    def boundary(self, polygons: np.ndarray) -> np.ndarray:
        """Cells a boundary may cross: the cells of samples every half cell along each ring's
        segments, grown by one cell."""
        rings = shapely.get_parts(shapely.boundary(polygons))
        xy, ring = shapely.get_coordinates(rings, return_index=True)
        same = ring[:-1] == ring[1:]  # no segment from one ring to the next
        a, b = xy[:-1][same], xy[1:][same]
        steps = np.ceil(np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]) / (self.cell / 2)).astype(np.int64) + 1
        segment = np.repeat(np.arange(len(a)), steps)
        start = np.cumsum(steps) - steps
        t = (np.arange(int(steps.sum())) - np.repeat(start, steps)) / np.repeat(np.maximum(steps - 1, 1), steps)
        samples = a[segment] + (b[segment] - a[segment]) * t[:, None]
        row, col = self.cells(samples)
        mask = np.zeros(self.shape, bool)
        mask[np.clip(row, 0, self.shape[0] - 1), np.clip(col, 0, self.shape[1] - 1)] = True
        return ndimage.binary_dilation(mask, structure=np.ones((3, 3), bool))


def _region_villages(grid: _Grid, region: np.ndarray, cell: np.ndarray, count: int, polygons: np.ndarray,
                     bounds: np.ndarray) -> np.ndarray:
    """The village of each region of unmarked cells that holds a point (``region``, ``cell``:
    the points' region and cell), by the exact test of one of its cells' centres."""
    any_cell = np.zeros(count + 1, np.int64)
    any_cell[region] = cell
    used = np.flatnonzero(np.bincount(region, minlength=count + 1))
    village = np.full(count + 1, -1, np.int64)
    village[used] = _first_holding(grid.centres(any_cell[used]), polygons)
    return village


def _exact(xy: np.ndarray, polygons: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The exact test: points sorted into square cells about a village wide; a polygon's
    candidates are the cells under its box (a few runs of the sorted order), tested with
    ``shapely.intersects_xy`` on the prepared polygon (an indexed point-in-area test, which real
    village outlines of thousands of vertices need)."""
    found = np.full(len(xy), -1, dtype=np.int64)
    finite = np.isfinite(xy).all(axis=1)
    if not finite.all():  # a point without coordinates is in no village
        found[finite] = _exact(xy[finite], polygons, bounds)
        return found
    if not len(xy):
        return found
    width = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    cell = max(float(np.nanmedian(width)) if np.isfinite(width).any() else 1.0, 1e-9)
    origin = np.array([xy[:, 0].min(), xy[:, 1].min()])
    cx = np.floor((xy[:, 0] - origin[0]) / cell).astype(np.int64)
    cy = np.floor((xy[:, 1] - origin[1]) / cell).astype(np.int64)
    top = (int(cx.max()), int(cy.max()))
    key = cy * (top[0] + 1) + cx
    order = np.argsort(key, kind="stable")
    key = key[order]
    shapely.prepare(polygons)
    for k, (polygon, (x0, y0, x1, y1)) in enumerate(zip(polygons, bounds)):
        if not np.isfinite(x0) or x1 < origin[0] or y1 < origin[1]:
            continue
        c0, c1 = (min(max(int(np.floor((v - origin[0]) / cell)), 0), top[0]) for v in (x0, x1))
        r0, r1 = (min(max(int(np.floor((v - origin[1]) / cell)), 0), top[1]) for v in (y0, y1))
        rows = np.arange(r0, r1 + 1) * (top[0] + 1)
        lo, hi = np.searchsorted(key, rows + c0, "left"), np.searchsorted(key, rows + c1, "right")
        candidates = order[np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)])]
        x, y = xy[candidates, 0], xy[candidates, 1]
        candidates = candidates[(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1) & (found[candidates] < 0)]
        found[candidates[shapely.intersects_xy(polygon, xy[candidates, 0], xy[candidates, 1])]] = k
    return found


def _first_holding(xy: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """The exact test for a few points (a region's cell centre each): an STR tree of the
    polygons' boxes, then ``intersects``; the first polygon that holds each point."""
    point, polygon = shapely.STRtree(polygons).query(shapely.points(xy), predicate="intersects")
    first = np.full(len(xy), len(polygons), np.int64)
    np.minimum.at(first, point, polygon)
    return np.where(first < len(polygons), first, -1)
