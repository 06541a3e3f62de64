"""Network reach kept per node, for allocating a whole region without listing its pairs.

Over the network a household reaches a facility through the node it walks to: door-to-door
minutes are the facility's minutes to that node plus the household's walk (``network``'s
conventions). A province has a million households and 500 depots an hour apart, so listing
every (facility, household) pair within the hour makes 48 million of them (1.2 GB, and most of
a run's time) although the network part is only 700,000 (facility, node) entries. Here the
entries stay as they are, the households are grouped by the node they join, and each
facility's candidates are derived when the allocation reaches that facility
(``allocation.allocate_candidates``). The results equal those of ``allocate`` on
``network.facility_to_points``' pairs, ties included (``tests/test_node_reach.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from gis_service.analysis import network as net
from gis_service.analysis.allocation import Allocation, allocate_candidates


class Join(NamedTuple):
    """The households that join the network through one layer, grouped by their node."""

    node_ptr: np.ndarray  # households of node n: positions node_ptr[n]:node_ptr[n + 1]
    household: np.ndarray  # household index, grouped by node
    access: np.ndarray  # walk (and boarding) minutes, aligned with ``household``


@dataclass
class NodeReach:
    """Who the facilities of one graph reach within ``limit`` minutes.

    ``times`` has one row per facility on the network, ``facility[row]`` being its index in the
    caller's facility list, and stores the minutes to every node reached (``network.travel_times``);
    ``joins`` has one :class:`Join` per layer the households may use."""

    facility: np.ndarray
    times: sp.csr_matrix
    joins: list[Join]
    limit: float

    def candidates(self, row: int, scratch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(households, minutes) that row's facility reaches within the limit, each household once
        at its faster layer. ``scratch`` is a float array of +inf, one per household, that is
        left as it was found (it only merges the layers)."""
        lo, hi = self.times.indptr[row], self.times.indptr[row + 1]
        nodes, minutes = self.times.indices[lo:hi], self.times.data[lo:hi]
        parts = [_at_nodes(join, nodes, minutes, self.limit) for join in self.joins]
        parts = [part for part in parts if len(part[0])]
        if len(parts) <= 1:
            return parts[0] if parts else (np.empty(0, np.int64), np.empty(0))
        (h1, c1), (h2, c2) = parts  # a household joins each layer once: unique within a part
        scratch[h1] = c1
        before = scratch[h2]
        scratch[h2] = np.minimum(before, c2)
        hh = np.concatenate([h1, h2[np.isinf(before)]])
        cost = scratch[hh]
        scratch[hh] = np.inf
        return hh, cost


def _at_nodes(join: Join, nodes: np.ndarray, minutes: np.ndarray,
              limit: float) -> tuple[np.ndarray, np.ndarray]:
    start = join.node_ptr[nodes]
    count = join.node_ptr[nodes + 1] - start
    flat = np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())
    total = np.repeat(minutes, count) + join.access[flat]  # the same sum as facility_to_points
    keep = total <= limit + net.EPS_MIN
    return join.household[flat[keep]], total[keep]


def node_reach(graph: net.Graph, facility_xy: np.ndarray, point_xy: np.ndarray, *,
               params: net.NetworkParams, limit_min: float, layers: set[str] | None = None,
               times: sp.csr_matrix | None = None, index: np.ndarray | None = None) -> NodeReach:
    """The reach of facilities (metric x, y) over ``graph`` for points joining on foot, as
    :func:`network.facility_to_points` measures it. ``times`` reuses the travel times of the
    facilities on the network (in input order, limit ``limit_min``), e.g. the polygons' ones;
    ``index`` numbers the facilities as the allocation does (default 0, 1, ...)."""
    point_xy = np.asarray(point_xy, dtype=float)
    node = net.snap_facilities(graph, np.asarray(facility_xy, float), params=params, layers=layers)
    facility = np.flatnonzero(node >= 0)
    if times is None:
        times = net.travel_times(graph, node[facility], limit_min=limit_min)
    joins = []
    for layer in net.layers_of(graph, layers):
        at, access = net.walk_access(graph, point_xy, layer, params)
        on = np.flatnonzero((at >= 0) & (access <= limit_min + net.EPS_MIN))
        order = on[np.argsort(at[on], kind="stable")]
        node_ptr = np.zeros(graph.n_nodes + 1, np.int64)
        np.cumsum(np.bincount(at[on], minlength=graph.n_nodes), out=node_ptr[1:])
        joins.append(Join(node_ptr, order, access[order]))
    if index is not None:
        facility = np.asarray(index)[facility]
    return NodeReach(facility=facility, times=times, joins=joins, limit=limit_min)


def allocate_reach(parts: list[NodeReach], *, n_facilities: int, n_households: int,
                   capacity: np.ndarray, order: np.ndarray, group: np.ndarray | None = None,
                   group_capacity: np.ndarray | None = None) -> Allocation:
    """``allocation.allocate`` over the reach of one or more graphs (a service's facilities by
    their transport means), each facility's candidates derived in its turn."""
    candidates = _candidates_of(parts, n_households)
    return allocate_candidates(candidates, n_facilities=n_facilities, n_households=n_households,
                               capacity=capacity, order=order, group=group,
                               group_capacity=group_capacity, track_nearest=True)


def reach_counts(parts: list[NodeReach], *, n_facilities: int, n_households: int) -> np.ndarray:
    """Households in reach per facility (for the 'demand' facility order)."""
    candidates = _candidates_of(parts, n_households)
    return np.array([len(candidates(f)[0]) for f in range(n_facilities)], dtype=np.int64)


def _candidates_of(parts: list[NodeReach], n_households: int):
    where = {int(f): (k, row) for k, part in enumerate(parts) for row, f in enumerate(part.facility)}
    scratch = np.full(n_households, np.inf)
    empty = (np.empty(0, np.int64), np.empty(0))

    def candidates(f: int) -> tuple[np.ndarray, np.ndarray]:
        if int(f) not in where:
            return empty
        k, row = where[int(f)]
        return parts[k].candidates(row, scratch)

    return candidates

