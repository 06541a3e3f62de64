"""Capacity-limited allocation of households to facilities (AccessMod-style, by household).

Facilities are processed in a chosen order over the residual demand; each takes the unserved
households it reaches, nearest first, until its capacity (in households) is used. Where the last
band overflows the capacity, households are taken nearest first and, on equal travel cost, by
household order (AccessMod shares that band proportionally instead; we keep whole households so
every household has one answer). Infinite capacity gives pure accessibility.

Inputs are the sparse reach pairs (facility, household, cost) from the buffer or network step;
everything is numpy, with a Python loop over facilities only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

EPS = 1e-9  # band edges are inclusive: a household at exactly the threshold is in


@dataclass
class Allocation:
    served_by: np.ndarray  # per household: facility index, -1 = unserved
    nearest: np.ndarray  # per household: nearest reachable facility index, -1 = none
    nearest_cost: np.ndarray  # per household: cost to it, inf = none
    in_reach: np.ndarray  # per facility: households within the limit
    served: np.ndarray  # per facility: households served


def facility_order(n_facilities: int, *, how: str, fac: np.ndarray | None = None,
                   priority: np.ndarray | None = None, reach: np.ndarray | None = None) -> np.ndarray:
    """Order in which facilities take households: 'given' (index order), 'priority' (ascending
    priority values, e.g. existing before pilot before planned), 'demand' (most households in
    reach first: ``reach`` per facility, else counted from the pairs' facilities ``fac``)."""
    index = np.arange(n_facilities)
    if how == "given":
        return index
    if how == "priority":
        if priority is None:
            raise ValueError("order 'priority' needs a priority per facility")
        return np.lexsort((index, priority))
    if how == "demand":
        if reach is None:
            reach = np.bincount(fac, minlength=n_facilities)
        return np.lexsort((index, -reach))
    raise ValueError(f"unknown facility order '{how}' (given, priority, demand)")


def allocate(fac: np.ndarray, hh: np.ndarray, cost: np.ndarray, *, n_facilities: int, n_households: int,
             capacity: np.ndarray, order: np.ndarray, limit: float, group: np.ndarray | None = None,
             group_capacity: np.ndarray | None = None) -> Allocation:
    """Allocate households to facilities. ``capacity`` in households per facility (inf = none).
    Facilities of one ``group`` (>= 0) also share ``group_capacity[group]`` (a plant's capacity
    shared by the depots that feed it); -1 means no group.

    Linear in the number of pairs except for sorting each facility's nearest candidates: pairs are
    grouped by facility (see ``_by_facility``), a facility without a capacity limit takes all its
    free candidates unsorted, and a limited one partially sorts only as many nearest candidates as
    its capacity needs among the candidates still free."""
    fac, hh, cost = np.asarray(fac, dtype=np.int64), np.asarray(hh, dtype=np.int64), np.asarray(cost, float)
    if len(cost) and cost.max() > limit + EPS:  # network reach is within the limit already
        keep = cost <= limit + EPS
        fac, hh, cost = fac[keep], hh[keep], cost[keep]
    nearest, nearest_cost = _nearest(fac, hh, cost, n_households)
    ptr, cand, cand_cost = _by_facility(fac, hh, cost, n_facilities, n_households)
    a = allocate_candidates(lambda f: (cand[ptr[f]:ptr[f + 1]], cand_cost[ptr[f]:ptr[f + 1]]),
                            n_facilities=n_facilities, n_households=n_households, capacity=capacity,
                            order=order, group=group, group_capacity=group_capacity)
    a.nearest, a.nearest_cost = nearest, nearest_cost
    a.in_reach = np.bincount(fac, minlength=n_facilities)  # facilities left out of ``order`` too
    return a


def allocate_candidates(candidates: Callable[[int], tuple[np.ndarray, np.ndarray]], *, n_facilities: int,
                        n_households: int, capacity: np.ndarray, order: np.ndarray,
                        group: np.ndarray | None = None, group_capacity: np.ndarray | None = None,
                        track_nearest: bool = False) -> Allocation:
    """The facility loop of :func:`allocate`, with each facility's candidates asked for when its
    turn comes: ``candidates(f)`` gives the households facility ``f`` reaches within the limit
    (each once) and their costs. So the (facility, household) pairs of the whole region never
    need to be held at once (the network engine derives them per facility from its reached
    nodes). ``in_reach`` counts the candidates; ``track_nearest`` also finds each household's
    nearest facility (least cost, ties to the lowest index) as the candidates go by, else
    ``nearest``/``nearest_cost`` are left for the caller."""
    served_by = np.full(n_households, -1, dtype=np.int64)
    served = np.zeros(n_facilities, dtype=np.int64)
    in_reach = np.zeros(n_facilities, dtype=np.int64)
    nearest = np.full(n_households, -1, dtype=np.int64)
    nearest_cost = np.full(n_households, np.inf)
    left = None if group is None else np.asarray(group_capacity, float).copy()
    for f in order:
        hh, cost = candidates(f)
        in_reach[f] = len(hh)
        if track_nearest and len(hh):
            best, now = nearest_cost[hh], nearest[hh]
            better = (cost < best) | ((cost == best) & (f < now))
            nearest_cost[hh[better]], nearest[hh[better]] = cost[better], f
        g = -1 if group is None else group[f]
        cap = capacity[f] if g < 0 else min(capacity[f], left[g])
        take = _take(hh, cost, cap, served_by)
        served_by[take] = f
        served[f] = len(take)
        if g >= 0:
            left[g] -= len(take)
    return Allocation(served_by, nearest, nearest_cost, in_reach, served)


def _by_facility(fac: np.ndarray, hh: np.ndarray, cost: np.ndarray, n_facilities: int,
                 n_households: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs grouped by facility: (pointer per facility, households, costs). Pairs sorted by
    household (network reach) are a CSR matrix whose transpose scipy builds in one counting pass
    in C++ (households ascending within a facility); other orders take a stable radix sort by
    facility and two gathers (households in pair order within a facility; ``_take`` orders them)."""
    if len(hh) > 1 and (hh[1:] >= hh[:-1]).all():
        indptr = np.zeros(n_households + 1, np.int64)
        np.cumsum(np.bincount(hh, minlength=n_households), out=indptr[1:])
        by_household = sp.csr_matrix((cost, fac.astype(np.int32), indptr), shape=(n_households, n_facilities))
        by_facility = by_household.tocsc()  # explicit zero costs stay: nothing prunes them
        return by_facility.indptr, by_facility.indices.astype(np.int64), by_facility.data
    order = np.argsort(fac.astype(np.uint16 if n_facilities < 2**16 else np.uint32), kind="stable")
    ptr = np.zeros(n_facilities + 1, np.int64)
    np.cumsum(np.bincount(fac, minlength=n_facilities), out=ptr[1:])
    return ptr, hh[order], cost[order]


def _nearest(fac, hh, cost, n_households) -> tuple[np.ndarray, np.ndarray]:
    """Per household the cheapest facility (ties: lowest index) and its cost."""
    nearest_cost = np.full(n_households, np.inf)
    np.minimum.at(nearest_cost, hh, cost)
    nearest = np.full(n_households, np.iinfo(np.int64).max, dtype=np.int64)
    best = cost == nearest_cost[hh]
    np.minimum.at(nearest, hh[best], fac[best])
    nearest[nearest == np.iinfo(np.int64).max] = -1
    return nearest, nearest_cost


def _take(candidates: np.ndarray, cost: np.ndarray, cap: float, served_by: np.ndarray) -> np.ndarray:
    """The unserved candidates a facility takes: all of them without a limit, else the nearest
    ``cap`` by (cost, household)."""
    free = served_by[candidates] < 0
    if not np.isfinite(cap):
        return candidates[free]
    want = max(int(np.floor(cap + EPS)), 0)
    candidates, cost = candidates[free], cost[free]
    if want == 0 or not len(candidates):
        return candidates[:0]
    if want >= len(candidates):
        return candidates
    # the `want` nearest, with every candidate tied with the last one, then exact order
    edge = np.partition(cost, want - 1)[want - 1]
    pick = np.flatnonzero(cost <= edge)
    ordered = pick[np.lexsort((candidates[pick], cost[pick]))]
    return candidates[ordered[:want]]


def nearest_k(hh: np.ndarray, fac: np.ndarray, cost: np.ndarray, *, k: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` cheapest facilities of every household: (household, rank 1..k, facility, cost),
    rank by rank.

    Pairs must be sorted by household (ties in cost go to the earlier pair). k passes of a
    per-household minimum over the contiguous runs, so it stays linear in the pairs."""
    cost = np.asarray(cost, float)
    if not len(hh) or k <= 0:
        empty = np.array([], np.int64)
        return empty, empty, empty, np.array([])
    start = np.flatnonzero(np.r_[True, hh[1:] != hh[:-1]])
    counts = np.diff(np.r_[start, len(hh)])
    left = cost.copy()
    picked = []
    for rank in range(1, k + 1):
        best = np.minimum.reduceat(left, start)
        hit = np.flatnonzero(left == np.repeat(best, counts))  # repeat: a sequential copy, no gather
        first = hit[np.r_[True, hh[hit][1:] != hh[hit][:-1]]]
        first = first[np.isfinite(left[first])]  # households with fewer than `rank` facilities
        if not len(first):
            break
        picked.append((first, rank))
        left[first] = np.inf
    rows = np.concatenate([p for p, _ in picked])
    ranks = np.concatenate([np.full(len(p), r) for p, r in picked])
    return hh[rows], ranks, fac[rows], cost[rows]
