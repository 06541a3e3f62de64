"""Travel times (minutes) from facilities to households over a road, river and path network.

The layered model. Seruyan's villages are strung along a navigable river; roads reach only part
of them and walking paths fill the gaps (docs/domain.md §7). The network is one directed graph
with two layers of nodes:

* **land**: endpoints of ``road`` and ``path`` edges. Roads and paths that meet share a node, so
  a walking service can switch between them freely.
* **river**: endpoints of ``river`` edges. A river node never merges with a land node, even at the
  same place: getting into or out of a boat costs time. Where a land node lies within
  ``landing_snap_m`` of a river node (a landing) and both layers are in use, transfer arcs join
  them both ways, each weighing ``landing_penalty_min`` plus the walk between them.

Nodes are edge endpoints merged within ``node_tolerance_m`` (interior vertices are not junctions:
whoever made the data split edges at junctions). Arc weights are minutes, from the edge length
and its speed (the edge's own ``speed_kmh``, else the class table of
``config/parameters/network.yml``, else that mode's ``default``). One-way edges get only their
digitised direction.

Points join the network on foot: a household walks straight to a node at ``walk_speed_kmh`` (and
pays the landing penalty when it boards at a river node); a facility (a depot, an IPLT) sits on
its node with no access time. Everything runs on arrays: cKDTree for snapping,
scipy.sparse.csgraph for shortest paths with a ``limit=`` cutoff (the floor in
docs/benchmarks.md), numpy for the joins.

Conventions: times are minutes; thresholds are inclusive with a tolerance of ``EPS_MIN`` for
float noise, so a point at exactly 60.0 minutes is inside a 60-minute band. In the sparse
matrices returned here a *stored entry* means "reached", and its value may be an explicit 0.0
(the source itself): test reachability with ``indptr``/``indices``, never with ``!= 0`` or
``toarray()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
import psycopg.sql
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree
from sqlalchemy import Connection, Engine

from gis_service.analysis.allocation import nearest_k
from gis_service.db.bulk import read_query
from gis_service.vocabulary import NetworkMode

EPS_MIN = 1e-9
"""Tolerance (minutes) on every threshold, so float noise cannot push a boundary point out."""

LAND, RIVER = "land", "river"
LAYER_OF_MODE = {NetworkMode.road.value: LAND, NetworkMode.path.value: LAND,
                 NetworkMode.river.value: RIVER}
_LAYERS = (LAND, RIVER)
_MAX_CHUNK_ROWS = 64
_CHUNK_CELLS = 8_000_000
"""Dense cells (float64) one dijkstra chunk may allocate: 64 MB, whatever the graph size."""


@dataclass(frozen=True)
class NetworkParams:
    """Speeds and the rules for joining the network; every value is an editable [U] default."""

    speeds: dict[str, dict[str, float]]
    walk_speed_kmh: float = 4.0
    max_snap_m: float = 500.0
    landing_penalty_min: float = 10.0
    node_tolerance_m: float = 1.0
    landing_snap_m: float = 50.0  # a road ending this close to a river node reaches the boats

    def __post_init__(self) -> None:
        for mode, table in self.speeds.items():
            if "default" not in table:
                raise ValueError(f"speeds[{mode!r}] needs a 'default' speed")
            if any(not float(v) > 0 for v in table.values()):
                raise ValueError(f"speeds[{mode!r}] must all be positive km/h")
        if not self.walk_speed_kmh > 0:
            raise ValueError("walk_speed_kmh must be positive")
        limits = (self.max_snap_m, self.landing_penalty_min, self.node_tolerance_m, self.landing_snap_m)
        if min(limits) < 0:
            raise ValueError("max_snap_m, landing_penalty_min, node_tolerance_m and landing_snap_m "
                             "must be >= 0")

    @classmethod
    def from_config(cls, config: dict, **overrides) -> NetworkParams:
        """From the dict of network.yml (``Settings.network_config()``); keywords override."""
        speeds = {mode.value: {str(k).lower(): float(v) for k, v in config[mode.value].items()}
                  for mode in NetworkMode if mode.value in config}
        known = {f.name for f in fields(cls)}
        values = {k: config[k] for k in known - {"speeds"} if k in config}
        return cls(**{"speeds": speeds, **values, **overrides})

    def walk_minutes(self, distance_m: np.ndarray) -> np.ndarray:
        """Minutes to walk ``distance_m`` (exact for round numbers: 300 m at 4 km/h = 4.5)."""
        return distance_m * 60.0 / (self.walk_speed_kmh * 1000.0)


def load_edges(conn: Connection | Engine, *, metric_crs: str,
               source: str | None = None) -> gpd.GeoDataFrame:
    """Read ``network_edge`` (optionally one data source) in the metric CRS, ready for build_graph.

    Only what the graph uses is read: attributes, the stored metric length, and the two end
    points, transformed in pyproj. The returned geometries are straight lines between the end
    points (a third of the read time on 300k edges); the length stays the real one. A missing
    ``length_m`` is measured in PostGIS with the metric SRID.
    """
    if isinstance(conn, Engine):
        with conn.connect() as connection:
            return load_edges(connection, metric_crs=metric_crs, source=source)
    srid = int(CRS.from_user_input(metric_crs).to_epsg())
    where = ""
    if source is not None:
        literal = psycopg.sql.Literal(source).as_string(conn.connection.driver_connection)
        where = f"WHERE source = {literal}"
    frame = read_query(conn,
                       "SELECT id, mode, class, speed_kmh, oneway, "
                       f"COALESCE(length_m, ST_Length(ST_Transform(geom, {srid}))) AS length_m, "
                       "ST_X(ST_StartPoint(geom)) AS x0, ST_Y(ST_StartPoint(geom)) AS y0, "
                       "ST_X(ST_EndPoint(geom)) AS x1, ST_Y(ST_EndPoint(geom)) AS y1 "
                       f"FROM network_edge {where} ORDER BY id", text_columns=("mode", "class"))
    to_metric = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)
    x0, y0 = to_metric.transform(frame.pop("x0").to_numpy(float), frame.pop("y0").to_numpy(float))
    x1, y1 = to_metric.transform(frame.pop("x1").to_numpy(float), frame.pop("y1").to_numpy(float))
    ends = np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)
    lines = shapely.linestrings(ends) if len(frame) else np.empty(0, dtype=object)
    frame["length_m"] = frame["length_m"].astype(float)
    frame["speed_kmh"] = frame["speed_kmh"].astype(float)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(lines, crs=metric_crs), crs=metric_crs)


@dataclass
class Graph:
    """A directed multimodal graph; arc weights are minutes, nodes are numbered land first."""

    csr: sp.csr_matrix
    node_xy: np.ndarray
    node_layer: np.ndarray
    edge_ids: np.ndarray
    """Id (``id`` column, else frame index) of each edge used, aligned with ``edge_nodes``."""
    edge_nodes: np.ndarray
    """(m, 2) from/to node of each edge used: map reached nodes back to edges for maps."""
    _trees: dict[str, tuple[cKDTree, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _walks: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _layers: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def layers(self) -> frozenset[str]:
        """The layers that have nodes (a road-only graph has no river to join)."""
        if self._layers is None:
            self._layers = frozenset(np.unique(self.node_layer).tolist())
        return self._layers

    def layer_tree(self, layer: str) -> tuple[cKDTree, np.ndarray]:
        """KD-tree over one layer's nodes and their graph indices (built once, then cached)."""
        if layer not in self._trees:
            nodes = np.flatnonzero(self.node_layer == layer)
            self._trees[layer] = (cKDTree(self.node_xy[nodes]), nodes)
        return self._trees[layer]


def build_graph(edges: gpd.GeoDataFrame, *, modes: set[str], params: NetworkParams) -> Graph:
    """Graph of the edges whose mode is in ``modes`` (a service's transport means).

    ``edges`` needs mode, class, speed_kmh, oneway, length_m (missing or NaN = geometry length) and
    LineString geometries in a metric CRS.
    """
    unknown = set(modes) - set(LAYER_OF_MODE)
    if unknown:
        raise ValueError(f"unknown modes {sorted(unknown)}; use {sorted(LAYER_OF_MODE)}")
    if edges.crs is not None and edges.crs.is_geographic:
        raise ValueError("edges must be in a metric CRS (Region.metric_crs), not lon/lat")
    mode = edges["mode"].to_numpy(dtype=object)
    keep = np.isin(mode, list(modes))
    edges, mode = edges[keep], mode[keep]
    minutes = _edge_minutes(edges, mode, params)
    layer = np.where(mode == NetworkMode.river.value, RIVER, LAND)
    u, v, node_xy, node_layer = _nodes(*_endpoints(edges.geometry.to_numpy()), layer,
                                       params.node_tolerance_m)
    two_way = ~edges["oneway"].eq(True).to_numpy()
    a, b, gap = _landings(node_xy, node_layer, max(params.landing_snap_m, params.node_tolerance_m))
    transfer = params.landing_penalty_min + params.walk_minutes(gap)
    tail = np.concatenate([u, v[two_way], a, b])
    head = np.concatenate([v, u[two_way], b, a])
    weight = np.concatenate([minutes, minutes[two_way], transfer, transfer])
    ids = edges["id"].to_numpy() if "id" in edges else edges.index.to_numpy()
    return Graph(csr=_min_csr(tail, head, weight, len(node_xy)), node_xy=node_xy,
                 node_layer=node_layer, edge_ids=ids, edge_nodes=np.column_stack([u, v]))


def _edge_minutes(edges: gpd.GeoDataFrame, mode: np.ndarray, params: NetworkParams) -> np.ndarray:
    """Minutes per edge: own speed_kmh, else speeds[mode][class], else speeds[mode]['default']."""
    speed = pd.to_numeric(edges["speed_kmh"], errors="coerce").to_numpy(dtype=float, copy=True)
    missing = ~(speed > 0)
    for name in pd.unique(mode[missing]):
        if name not in params.speeds:
            raise ValueError(f"no speed table for mode {name!r} in NetworkParams.speeds")
        table = params.speeds[name]
        sel = missing & (mode == name)
        codes, classes = pd.factorize(edges["class"].to_numpy()[sel])  # missing class -> code -1
        lookup = [table.get(str(c).lower(), table["default"]) for c in classes]
        speed[sel] = np.array([*lookup, table["default"]], dtype=float)[codes]
    length = pd.to_numeric(edges["length_m"], errors="coerce").to_numpy(dtype=float) \
        if "length_m" in edges else np.full(len(edges), np.nan)
    length = np.where(np.isnan(length), edges.geometry.length.to_numpy(), length)
    if (length < 0).any():
        raise ValueError("negative edge length")
    return length * 60.0 / (speed * 1000.0)  # exact for round numbers: 1000 m at 60 km/h = 1.0


def _nodes(start: np.ndarray, end: np.ndarray, layer: np.ndarray, tolerance: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge endpoints into nodes per layer (land first): from/to node per edge, node xy, layer."""
    u, v = np.empty(len(layer), np.int64), np.empty(len(layer), np.int64)
    node_xy, node_layer, offset = [], [], 0
    for name in _LAYERS:
        sel = layer == name
        labels, xy = _merge_points(np.vstack([start[sel], end[sel]]), tolerance)
        half = int(sel.sum())
        u[sel], v[sel] = labels[:half] + offset, labels[half:] + offset
        node_xy.append(xy)
        node_layer.append(np.full(len(xy), name))
        offset += len(xy)
    return u, v, np.vstack(node_xy), np.concatenate(node_layer)


def _endpoints(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last vertex of each LineString, (m, 2) each (one pass over all coordinates)."""
    if len(geoms) and not (shapely.get_type_id(geoms) == 1).all():
        raise ValueError("every network edge must be a LineString")
    counts = shapely.get_num_coordinates(geoms)
    if (counts < 2).any():
        raise ValueError("a network edge has fewer than two vertices")
    coords = shapely.get_coordinates(geoms)
    last = np.cumsum(counts) - 1
    return coords[last - counts + 1], coords[last]


def _merge_points(xy: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Cluster points within ``tolerance`` (transitively): label per point and one xy per cluster.

    Exact duplicates collapse first by hashing (most endpoints are shared by several edges), then a
    KD-tree joins the near ones. A cluster keeps the coordinates of its first point, so exact test
    geometry stays exact.
    """
    bits = np.ascontiguousarray(xy).view(np.int64)
    cx, _ = pd.factorize(bits[:, 0])
    cy, uy = pd.factorize(bits[:, 1])
    exact, distinct = pd.factorize(cx.astype(np.int64) * len(uy) + cy)
    unique_xy = xy[_first_of(exact, len(distinct))]
    pairs = cKDTree(unique_xy).query_pairs(tolerance, output_type="ndarray").reshape(-1, 2)
    adjacency = sp.coo_matrix((np.ones(len(pairs), bool), (pairs[:, 0], pairs[:, 1])),
                              shape=(len(unique_xy), len(unique_xy)))
    k, cluster = connected_components(adjacency, directed=False)
    return cluster[exact], unique_xy[_first_of(cluster, k)]


def _first_of(labels: np.ndarray, k: int) -> np.ndarray:
    """Index of the first element carrying each label 0..k-1."""
    first = np.full(k, len(labels), np.int64)
    np.minimum.at(first, labels, np.arange(len(labels)))
    return first


def _landings(node_xy: np.ndarray, node_layer: np.ndarray,
              reach_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(land node, river node, metres between them) within ``reach_m``: where boats load and
    unload. Road data rarely ends exactly on the river line, so a landing may be a short walk."""
    land, river = np.flatnonzero(node_layer == LAND), np.flatnonzero(node_layer == RIVER)
    if not len(land) or not len(river):
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    near = cKDTree(node_xy[land]).sparse_distance_matrix(
        cKDTree(node_xy[river]), reach_m, output_type="ndarray")
    return land[near["i"]], river[near["j"]], near["v"]


def _min_csr(tail: np.ndarray, head: np.ndarray, weight: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR adjacency keeping the fastest of parallel arcs (scipy would sum them) and no loops.

    Zero weights stay as explicit entries: csgraph treats them as zero-minute arcs.
    """
    keep = tail != head
    tail, head, weight = tail[keep], head[keep], weight[keep]
    order = np.lexsort((weight, head, tail))
    tail, head, weight = tail[order], head[order], weight[order]
    first = np.ones(len(tail), bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    tail, head, weight = tail[first], head[first], weight[first]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    return sp.csr_matrix((weight, head.astype(np.int32), indptr), shape=(n, n))


def layers_of(graph: Graph, layers: set[str] | None) -> list[str]:
    chosen = set(_LAYERS) if layers is None else set(layers)
    if chosen - set(_LAYERS):
        raise ValueError(f"unknown layers {sorted(chosen - set(_LAYERS))}; use land, river")
    return [name for name in _LAYERS if name in chosen and name in graph.layers]


def _nearest(graph: Graph, xy: np.ndarray, layer: str,
             max_snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest node of one layer within max_snap_m (inclusive): node or -1, distance or inf."""
    tree, nodes = graph.layer_tree(layer)
    dist, idx = tree.query(xy, distance_upper_bound=np.nextafter(max_snap_m, np.inf), workers=-1)
    found = dist <= max_snap_m
    node = np.full(len(xy), -1, np.int64)
    node[found] = nodes[idx[found]]
    return node, np.where(found, dist, np.inf)


def walk_access(graph: Graph, xy: np.ndarray, layer: str,
                 params: NetworkParams) -> tuple[np.ndarray, np.ndarray]:
    """Nearest node of one layer and the minutes to walk there (and board, on the river).

    The last answer per layer is kept on the graph for the same array object, so reach and the
    k nearest of one run query the KD-tree with a million households once."""
    key = (layer, params.max_snap_m, params.walk_speed_kmh, params.landing_penalty_min)
    last = graph._walks.get(key)
    if last is not None and last[0] is xy:
        return last[1], last[2]
    node, dist = _nearest(graph, xy, layer, params.max_snap_m)
    penalty = params.landing_penalty_min if layer == RIVER else 0.0
    graph._walks[key] = (xy, node, params.walk_minutes(dist) + penalty)
    return node, graph._walks[key][2]


def _points(xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError("points must be an (n, 2) array of metric x, y")
    return xy


def snap(graph: Graph, xy: np.ndarray, *, params: NetworkParams,
         layers: set[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where each point (metric x, y) joins the network on foot, and the access minutes.

    Per allowed layer the nearest node within ``max_snap_m`` is a candidate; the one with the least
    access minutes wins (distance / walk speed, plus the landing penalty on the river), so a house
    at a landing uses the road node rather than paying to board. Unreachable: node -1, minutes inf.
    """
    xy = _points(xy)
    node = np.full(len(xy), -1, np.int64)
    minutes = np.full(len(xy), np.inf)
    for layer in layers_of(graph, layers):
        cand, access = walk_access(graph, xy, layer, params)
        better = access < minutes
        node[better], minutes[better] = cand[better], access[better]
    return node, minutes


def snap_facilities(graph: Graph, xy: np.ndarray, *, params: NetworkParams,
                     layers: set[str] | None) -> np.ndarray:
    """The node a facility sits on (zero access): the nearest within max_snap_m, -1 if none.

    At a landing (land and river node within node_tolerance_m) the land node wins, so a truck depot
    there does not pay to leave the river.
    """
    node = np.full(len(xy), -1, np.int64)
    best = np.full(len(xy), np.inf)
    for layer in layers_of(graph, layers):
        cand, dist = _nearest(graph, xy, layer, params.max_snap_m)
        key = dist + (params.node_tolerance_m if layer == RIVER else 0.0)
        better = key < best
        node[better], best[better] = cand[better], key[better]
    return node


def travel_times(graph: Graph, sources: np.ndarray, *, limit_min: float,
                 chunk_rows: int | None = None) -> sp.csr_matrix:
    """Minutes from each source node to every node reached within ``limit_min`` (inclusive).

    Row i belongs to ``sources[i]``. A stored entry means "reached"; the source itself is stored as
    an explicit 0.0, unreached nodes are not stored. Sources run through dijkstra in chunks whose
    dense rows become sparse at once, so memory stays bounded (``chunk_rows`` defaults to at most 64
    rows and at most ``_CHUNK_CELLS`` dense cells).

    A source an hour from its neighbours reaches a few thousand of a province's 150,000 nodes,
    yet a dense dijkstra row costs all of them. So on a large graph the sources go in chunks of
    neighbours (``_spatial_order``); one multi-source pass (``min_only``) finds the nodes any of
    the chunk reaches within the limit, and the chunk's rows are computed on the graph of those
    nodes alone. That is exact: every node on a path of at most ``limit`` minutes from a source
    is itself reached within the limit, so the smaller graph holds the whole path.
    """
    sources = np.asarray(sources, dtype=np.int64).ravel()
    n = graph.n_nodes
    if len(sources) and (sources.min() < 0 or sources.max() >= n):
        raise ValueError("source node indices out of range (snap gave -1?)")
    limit = limit_min + EPS_MIN
    pruned = n >= _PRUNE_MIN_NODES and len(sources) > 1
    order = _spatial_order(graph.node_xy[sources]) if pruned else np.arange(len(sources))
    rows = chunk_rows or (_PRUNE_ROWS if pruned else
                          max(1, min(_MAX_CHUNK_ROWS, _CHUNK_CELLS // max(n, 1))))
    counts, indices, data = np.zeros(len(sources), np.int64), [], []
    for lo in range(0, len(sources), rows):
        chunk = order[lo: lo + rows]
        src = sources[chunk]
        nodes, csr = None, graph.csr
        if pruned:
            union = dijkstra(graph.csr, directed=True, indices=src, limit=limit, min_only=True)
            nodes = np.flatnonzero(union <= limit)
            csr = graph.csr[nodes][:, nodes]
            src = np.searchsorted(nodes, src)
        dense = dijkstra(csr, directed=True, indices=src, limit=limit)
        reached = dense <= limit
        counts[chunk] = reached.sum(axis=1)
        cols = (np.flatnonzero(reached) % dense.shape[1]).astype(np.int32)
        indices.append(cols if nodes is None else nodes[cols].astype(np.int32))
        data.append(dense[reached])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    data = np.concatenate(data) if data else np.empty(0)
    indices = np.concatenate(indices) if indices else np.empty(0, np.int32)
    if pruned:  # the chunks' rows came in ``order``: put each back at its source's row
        start = np.empty(len(sources), np.int64)
        start[order] = np.concatenate([[0], np.cumsum(counts[order])[:-1]])
        flat = np.repeat(start - indptr[:-1], counts) + np.arange(indptr[-1])
        data, indices = data[flat], indices[flat]
    return sp.csr_matrix((data, indices, indptr), shape=(len(sources), n))


_PRUNE_MIN_NODES = 20_000
"""Graphs from this many nodes get the pruned travel times (below, a dense row is cheap)."""
_PRUNE_ROWS = 32
"""Sources per pruned chunk: neighbours whose reach overlaps, so the pruned graph stays small."""


def _spatial_order(xy: np.ndarray) -> np.ndarray:
    """An order of points along a Z-order (Morton) curve, so that consecutive points are near."""
    if not len(xy):
        return np.arange(0)
    span = np.maximum(np.ptp(xy, axis=0), 1e-9)
    q = ((xy - xy.min(axis=0)) / span * 65535).astype(np.uint64)
    code = np.zeros(len(xy), np.uint64)
    for bit in range(16):
        code |= ((q[:, 0] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit)
        code |= ((q[:, 1] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit + 1)
    return np.argsort(code, kind="stable")


class Reach(NamedTuple):
    """(facility, point) pairs within the limit, sorted by point then facility."""

    facility: np.ndarray
    point: np.ndarray
    minutes: np.ndarray


def facility_to_points(graph: Graph, facility_xy: np.ndarray, point_xy: np.ndarray, *,
                       params: NetworkParams, limit_min: float,
                       layers: set[str] | None = None, times: sp.csr_matrix | None = None) -> Reach:
    """Every (facility, point) pair whose door-to-door minutes are <= ``limit_min``.

    Minutes = network time from the facility's node (zero access) + the point's walk access. A point
    may join through the nearest node of each allowed layer; the faster total wins, so a riverside
    house is reached by boat or by road, whichever is quicker. Indices refer to the input arrays.
    ``times`` reuses :func:`travel_times` of the facilities on the network (in input order, limit
    ``limit_min``), e.g. the one the service-area polygons are drawn from.
    """
    point_xy = _points(point_xy)
    fac, node_ptr, row, minutes = _reached_by_node(graph, facility_xy, params, limit_min, layers, times)
    found = [_join(graph, point_xy, layer, params, limit_min, node_ptr, row, minutes)
             for layer in layers_of(graph, layers)]
    found = [part for part in found if len(part[0])]
    if len(found) == 1:  # one layer: already sorted by point, then facility, without repeats
        f, p, m = found[0]
        return Reach(facility=fac[f], point=p, minutes=m)
    f, p, m = (np.concatenate(parts) for parts in zip(*found)) if found else (
        np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    width = max(len(fac), 1)
    key = p * width + f
    order = np.argsort(key, kind="stable")  # each layer's part is sorted already: a cheap merge
    key, m = key[order], m[order]
    first = np.ones(len(key), bool)
    first[1:] = key[1:] != key[:-1]
    start = np.flatnonzero(first)
    best = np.minimum.reduceat(m, start)  # a point joining by land and by river: the faster
    return Reach(facility=fac[key[start] % width], point=key[start] // width, minutes=best)


def nearest_facilities(graph: Graph, facility_xy: np.ndarray, point_xy: np.ndarray, *,
                       params: NetworkParams, limit_min: float, k: int,
                       times: sp.csr_matrix | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest facilities of every point within ``limit_min``: (n, k) facility indices
    (-1: none) and door-to-door minutes (inf), nearest first.

    A point reaches every facility through its join node, so its ranking is its node's ranking:
    the k best per *node* (hundreds of thousands of entries) are found first and handed to the
    points, instead of ranking the tens of millions of (facility, point) pairs. A point joining
    through both layers merges its two candidate lists, each facility at its faster time."""
    point_xy = _points(point_xy)
    fac, node_ptr, row, minutes = _reached_by_node(graph, facility_xy, params, limit_min, None, times)
    entry_node = np.repeat(np.arange(graph.n_nodes), np.diff(node_ptr))
    node, rank, best_row, best = nearest_k(entry_node, row, minutes, k=k)
    top_f = np.full((graph.n_nodes, k), -1, np.int64)
    top_m = np.full((graph.n_nodes, k), np.inf)
    top_f[node, rank - 1], top_m[node, rank - 1] = fac[best_row], best
    cand_f, cand_m = [], []
    for layer in layers_of(graph, None):
        at, access = walk_access(graph, point_xy, layer, params)
        f = np.where((at >= 0)[:, None], top_f[np.maximum(at, 0)], -1)
        m = np.where(f >= 0, top_m[np.maximum(at, 0)] + access[:, None], np.inf)
        m[m > limit_min + EPS_MIN] = np.inf
        f[np.isinf(m)] = -1
        cand_f.append(f)
        cand_m.append(m)
    if len(cand_f) == 1:
        return cand_f[0], cand_m[0]
    has = np.column_stack([f[:, 0] >= 0 for f in cand_f])
    layer = np.argmax(has, axis=1)  # a point with candidates in one layer keeps that layer's list
    rows = np.arange(len(point_xy))
    f, m = np.stack(cand_f)[layer, rows], np.stack(cand_m)[layer, rows]
    both = np.flatnonzero(has.sum(axis=1) > 1)
    if len(both):
        f[both], m[both] = _merge_layers([c[both] for c in cand_f], [c[both] for c in cand_m], k)
    return f, m


def _merge_layers(cand_f: list[np.ndarray], cand_m: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest of points joining through several layers: their lists merged, a facility met
    through two keeping its faster time."""
    f, m = np.hstack(cand_f), np.hstack(cand_m)
    order = np.argsort(m, axis=1, kind="stable")
    f, m = np.take_along_axis(f, order, 1), np.take_along_axis(m, order, 1)
    for j in range(1, f.shape[1]):  # a facility met through both layers keeps its faster time
        repeat = (f[:, j:j + 1] == f[:, :j]).any(axis=1) & (f[:, j] >= 0)
        f[repeat, j], m[repeat, j] = -1, np.inf
    order = np.argsort(m, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(f, order, 1), np.take_along_axis(m, order, 1)


def _reached_by_node(graph: Graph, facility_xy: np.ndarray, params: NetworkParams, limit_min: float,
                     layers: set[str] | None, times: sp.csr_matrix | None):
    """The facilities on the network (indices into the input) and their reached (node, minutes)
    entries grouped by node; ``times`` is reused when the caller has it."""
    fac_node = snap_facilities(graph, _points(facility_xy), params=params, layers=layers)
    fac = np.flatnonzero(fac_node >= 0)
    if times is None:
        times = travel_times(graph, fac_node[fac], limit_min=limit_min)
    return (fac, *_by_node(times))


def _by_node(times: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regroup reached entries by node (a CSC view built with numpy, explicit zeros kept)."""
    row = np.repeat(np.arange(times.shape[0]), np.diff(times.indptr))
    order = np.argsort(times.indices, kind="stable")
    node_ptr = np.zeros(times.shape[1] + 1, np.int64)
    np.cumsum(np.bincount(times.indices, minlength=times.shape[1]), out=node_ptr[1:])
    return node_ptr, row[order], times.data[order]


def _join(graph: Graph, point_xy: np.ndarray, layer: str, params: NetworkParams, limit_min: float,
          node_ptr: np.ndarray, row: np.ndarray,
          minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(facility row, point, minutes) for points joining through ``layer``, within the limit."""
    node, access = walk_access(graph, point_xy, layer, params)
    pts = np.flatnonzero((node >= 0) & (access <= limit_min + EPS_MIN))
    start = node_ptr[node[pts]]
    count = node_ptr[node[pts] + 1] - start
    flat = np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())
    point = np.repeat(pts, count)
    total = minutes[flat] + np.repeat(access[pts], count)  # repeat: sequential, unlike a gather
    keep = total <= limit_min + EPS_MIN
    return row[flat][keep], point[keep], total[keep]
