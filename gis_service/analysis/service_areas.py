"""Service-area polygons for the maps: a radius around a facility, or a network isochrone.

An isochrone for band ``t`` is the union of walking discs around every node the service reaches
within ``t`` minutes, each disc as wide as the time left at that node allows on foot (capped at
the snapping distance, less the landing penalty on the river). It is the area whose households the
coverage step counts as reachable, drawn rather than listed. Computed in the metric CRS.

Dissolving thousands of discs per facility is what makes province-size runs slow, so above
``MAX_EXACT_NODES`` reached nodes the polygon is approximated: a concave hull of the reached
nodes, grown by the median disc radius. The per-household results never depend on the polygons.
"""

from __future__ import annotations

import numpy as np
import shapely

from gis_service.analysis import network as net

MAX_EXACT_NODES = 1500
HULL_RATIO = 0.1  # shapely.concave_hull: 0 = tightest, 1 = convex


def radius_areas(facility_xy: np.ndarray, radius_m: float) -> np.ndarray:
    """One disc per facility (metric CRS)."""
    return shapely.buffer(shapely.points(facility_xy), radius_m, quad_segs=16)


def isochrones(graph: net.Graph, facility_xy: np.ndarray, thresholds: list[float], *,
               params: net.NetworkParams) -> list[tuple[int, float, shapely.Geometry]]:
    """(facility index, band, polygon) for every facility on the network and every band."""
    node = net.snap_facilities(graph, facility_xy, params=params, layers=None)
    on_network = np.flatnonzero(node >= 0)
    if not len(on_network):
        return []
    times = net.travel_times(graph, node[on_network], limit_min=max(thresholds))
    walk_m_per_min = params.walk_speed_kmh * 1000 / 60
    river = graph.node_layer == net.RIVER
    out = []
    for row, f in enumerate(on_network):
        nodes = times.indices[times.indptr[row]:times.indptr[row + 1]]
        minutes = times.data[times.indptr[row]:times.indptr[row + 1]]
        penalty = np.where(river[nodes], params.landing_penalty_min, 0.0)
        for band in sorted(thresholds):
            spare = band - minutes - penalty
            keep = spare > 0
            if not keep.any():
                continue
            radius = np.minimum(spare[keep] * walk_m_per_min, params.max_snap_m)
            out.append((int(f), float(band), _dissolve(graph.node_xy[nodes[keep]], radius)))
    return out


def _dissolve(xy: np.ndarray, radius: np.ndarray) -> shapely.Geometry:
    if len(xy) <= MAX_EXACT_NODES:
        return shapely.union_all(shapely.buffer(shapely.points(xy), radius, quad_segs=4))
    hull = shapely.concave_hull(shapely.multipoints(xy), ratio=HULL_RATIO)
    return shapely.buffer(hull, float(np.median(radius)), quad_segs=4)
