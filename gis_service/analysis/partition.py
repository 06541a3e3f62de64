"""Independent parts of an allocation, for running it in pieces (issue 7: a province or the nation
on a cluster) with the same answer as in one piece.

Facilities interact only through households both reach, and through a shared plant capacity
(``group``). The connected components of the graph facilities - reach pairs - households, with
the facilities of a group joined, are therefore independent: allocating each component alone, its
facilities in the global order, gives exactly the global allocation (household order and
facility index order, which break ties, are kept by renumbering in ascending order). Components
are packed into ``n_parts`` parts of similar size (pairs), each a task for ``map_parts``: the
builtin ``map`` in one process, or a distributed executor's map (e.g. a dask client's)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from gis_service.analysis.allocation import EPS, Allocation, allocate


def reach_components(fac: np.ndarray, hh: np.ndarray, *, n_facilities: int, n_households: int,
                     group: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Component label per facility and per household (-1: a household no facility reaches; a
    facility reaching nobody has a component of its own)."""
    n = n_facilities + n_households
    rows, cols = [np.asarray(fac, np.int64)], [n_facilities + np.asarray(hh, np.int64)]
    if group is not None:  # chain the facilities of each group
        group = np.asarray(group)
        members = np.flatnonzero(group >= 0)
        members = members[np.argsort(group[members], kind="stable")]
        same = group[members[1:]] == group[members[:-1]]
        rows.append(members[:-1][same])
        cols.append(members[1:][same])
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sp.coo_matrix((np.ones(len(r), np.int8), (r, c)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    households = labels[n_facilities:].copy()
    households[np.bincount(hh, minlength=n_households) == 0] = -1
    return labels[:n_facilities], households


def pack(weights: np.ndarray, n_parts: int) -> np.ndarray:
    """Part per item: the heaviest first onto the lightest part (longest processing time first)."""
    parts = np.zeros(len(weights), np.int64)
    load = np.zeros(max(n_parts, 1))
    for item in np.argsort(-np.asarray(weights), kind="stable"):
        part = int(np.argmin(load))
        parts[item] = part
        load[part] += weights[item]
    return parts


@dataclass
class Part:
    """One part's sub-problem: global ids of its facilities and households (ascending), its pairs
    renumbered locally, and its capacities and order."""

    facilities: np.ndarray
    households: np.ndarray
    fac: np.ndarray
    hh: np.ndarray
    cost: np.ndarray
    capacity: np.ndarray
    order: np.ndarray
    group: np.ndarray | None
    group_capacity: np.ndarray | None
    limit: float

    def solve(self) -> Allocation:
        return allocate(self.fac, self.hh, self.cost, n_facilities=len(self.facilities),
                        n_households=len(self.households), capacity=self.capacity, order=self.order,
                        limit=self.limit, group=self.group, group_capacity=self.group_capacity)


def split(fac: np.ndarray, hh: np.ndarray, cost: np.ndarray, *, n_facilities: int, n_households: int,
          capacity: np.ndarray, order: np.ndarray, limit: float, n_parts: int, group: np.ndarray | None = None,
          group_capacity: np.ndarray | None = None) -> list[Part]:
    """The allocation's independent sub-problems, packed into at most ``n_parts`` parts."""
    fac, hh, cost = np.asarray(fac, np.int64), np.asarray(hh, np.int64), np.asarray(cost, float)
    keep = cost <= limit + EPS
    fac, hh, cost = fac[keep], hh[keep], cost[keep]
    fac_comp, _ = reach_components(fac, hh, n_facilities=n_facilities, n_households=n_households, group=group)
    n_comp = int(fac_comp.max()) + 1 if n_facilities else 0
    comp_part = pack(np.bincount(fac_comp[fac], minlength=n_comp) + 1, n_parts)  # +1: empty ones count
    fac_part, pair_part = comp_part[fac_comp], comp_part[fac_comp[fac]]
    rank = np.empty(n_facilities, np.int64)
    rank[np.asarray(order, np.int64)] = np.arange(n_facilities)
    parts = []
    for p in range(max(n_parts, 1)):
        facilities = np.flatnonzero(fac_part == p)
        if not len(facilities):
            continue
        in_part = pair_part == p
        households = np.unique(hh[in_part])
        local_order = np.argsort(rank[facilities], kind="stable")
        sub_group = None if group is None else np.asarray(group)[facilities]
        parts.append(Part(facilities, households, np.searchsorted(facilities, fac[in_part]),
                          np.searchsorted(households, hh[in_part]), cost[in_part],
                          np.asarray(capacity, float)[facilities], local_order, sub_group,
                          group_capacity, limit))
    return parts


def allocate_by_parts(fac: np.ndarray, hh: np.ndarray, cost: np.ndarray, *, n_facilities: int, n_households: int,
                      capacity: np.ndarray, order: np.ndarray, limit: float, n_parts: int,
                      group: np.ndarray | None = None, group_capacity: np.ndarray | None = None,
                      map_parts: Callable[[Callable, Iterable], Iterable] = map) -> Allocation:
    """The same allocation as ``allocate``, solved part by part with ``map_parts``."""
    parts = split(fac, hh, cost, n_facilities=n_facilities, n_households=n_households, capacity=capacity,
                  order=order, limit=limit, n_parts=n_parts, group=group, group_capacity=group_capacity)
    served_by = np.full(n_households, -1, np.int64)
    nearest = np.full(n_households, -1, np.int64)
    nearest_cost = np.full(n_households, np.inf)
    in_reach = np.zeros(n_facilities, np.int64)
    served = np.zeros(n_facilities, np.int64)
    for part, result in zip(parts, map_parts(Part.solve, parts)):
        mine = result.served_by >= 0
        served_by[part.households[mine]] = part.facilities[result.served_by[mine]]
        reached = result.nearest >= 0
        nearest[part.households[reached]] = part.facilities[result.nearest[reached]]
        nearest_cost[part.households] = result.nearest_cost
        in_reach[part.facilities] = result.in_reach
        served[part.facilities] = result.served
    return Allocation(served_by, nearest, nearest_cost, in_reach, served)
