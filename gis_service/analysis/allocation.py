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

from dataclasses import dataclass

import numpy as np

EPS = 1e-9  # band edges are inclusive: a household at exactly the threshold is in


@dataclass
class Allocation:
    served_by: np.ndarray  # per household: facility index, -1 = unserved
    nearest: np.ndarray  # per household: nearest reachable facility index, -1 = none
    nearest_cost: np.ndarray  # per household: cost to it, inf = none
    in_reach: np.ndarray  # per facility: households within the limit
    served: np.ndarray  # per facility: households served


def facility_order(n_facilities: int, *, how: str, fac: np.ndarray, priority: np.ndarray | None = None
                   ) -> np.ndarray:
    """Order in which facilities take households: 'given' (index order), 'priority' (ascending
    priority values, e.g. existing before pilot before planned), 'demand' (most households in
    reach first)."""
    index = np.arange(n_facilities)
    if how == "given":
        return index
    if how == "priority":
        if priority is None:
            raise ValueError("order 'priority' needs a priority per facility")
        return np.lexsort((index, priority))
    if how == "demand":
        reach = np.bincount(fac, minlength=n_facilities)
        return np.lexsort((index, -reach))
    raise ValueError(f"unknown facility order '{how}' (given, priority, demand)")


def allocate(fac: np.ndarray, hh: np.ndarray, cost: np.ndarray, *, n_facilities: int, n_households: int,
             capacity: np.ndarray, order: np.ndarray, limit: float) -> Allocation:
    """Allocate households to facilities. ``capacity`` in households per facility (inf = none)."""
    fac, hh, cost = np.asarray(fac, dtype=np.int64), np.asarray(hh, dtype=np.int64), np.asarray(cost, float)
    keep = cost <= limit + EPS
    fac, hh, cost = fac[keep], hh[keep], cost[keep]
    nearest = np.full(n_households, -1, dtype=np.int64)
    nearest_cost = np.full(n_households, np.inf)
    by_household = np.lexsort((fac, cost, hh))  # per household: cheapest first, then facility index
    first = np.ones(len(by_household), dtype=bool)
    first[1:] = hh[by_household][1:] != hh[by_household][:-1]
    chosen = by_household[first]
    nearest[hh[chosen]], nearest_cost[hh[chosen]] = fac[chosen], cost[chosen]

    rank = np.empty(n_facilities, dtype=np.int64)
    rank[order] = np.arange(n_facilities)
    pairs = np.lexsort((hh, cost, rank[fac]))  # facility in processing order, then nearest, then household
    fac_sorted, hh_sorted = fac[pairs], hh[pairs]
    bounds = np.searchsorted(rank[fac_sorted], np.arange(n_facilities + 1))
    served_by = np.full(n_households, -1, dtype=np.int64)
    served = np.zeros(n_facilities, dtype=np.int64)
    for r in range(n_facilities):
        f = order[r]
        candidates = hh_sorted[bounds[r]:bounds[r + 1]]
        free = candidates[served_by[candidates] < 0]
        cap = capacity[f]
        take = free if not np.isfinite(cap) else free[: max(int(np.floor(cap + EPS)), 0)]
        served_by[take] = f
        served[f] = len(take)
    return Allocation(served_by, nearest, nearest_cost, np.bincount(fac, minlength=n_facilities), served)
