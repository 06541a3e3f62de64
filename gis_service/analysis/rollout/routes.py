"""The order of the stops of a trip that empties several tanks (docs/rollout.md, "Trips with
several tanks"): a truck leaves its base, empties its trip's tanks, unloads at the IPLT and
returns. When a truck holds more than one tank (``truck_volume`` at least twice
``sludge_per_emptying``) the order of the stops matters; it is chosen to give the fewest minutes.

``best_order`` is exact (every order) up to ``EXACT_STOPS`` stops, else nearest neighbour
improved by 2-opt. The tests compare it with pgRouting's ``pgr_TSP`` on small cases.
Minutes between stops come from the base's network (door to door: walk access at both ends)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.sparse.csgraph import dijkstra

EXACT_STOPS = 7


def best_order(cost: np.ndarray) -> tuple[list[int], float]:
    """``cost``: (k + 2) square minutes; row 0 the start, rows 1..k the stops, row k + 1 the end
    (the plant; the start again for a closed tour). Returns the stops in order (indices 1..k)
    and the route's minutes."""
    k = len(cost) - 2
    stops = list(range(1, k + 1))
    if k <= 1:
        return stops, _length(cost, stops)
    if k <= EXACT_STOPS:
        best = min(itertools.permutations(stops), key=lambda order: _length(cost, order))
        return list(best), _length(cost, best)
    order = _two_opt(cost, _nearest_neighbour(cost, stops))
    return order, _length(cost, order)


def _length(cost: np.ndarray, order) -> float:
    path = [0, *order, len(cost) - 1]
    return float(sum(cost[a, b] for a, b in zip(path[:-1], path[1:])))


def _nearest_neighbour(cost: np.ndarray, stops: list[int]) -> list[int]:
    left, order, at = set(stops), [], 0
    while left:
        at = min(left, key=lambda s: (cost[at, s], s))
        order.append(at)
        left.remove(at)
    return order


def _two_opt(cost: np.ndarray, order: list[int]) -> list[int]:
    improved = True
    while improved:
        improved = False
        for i in range(len(order) - 1):
            for j in range(i + 1, len(order)):
                candidate = order[:i] + order[i:j + 1][::-1] + order[j + 1:]
                if _length(cost, candidate) < _length(cost, order) - 1e-9:
                    order, improved = candidate, True
    return order


def trip_cost(graph, stop_nodes: np.ndarray, stop_access: np.ndarray, start_node: int, end_node: int) -> np.ndarray:
    """Minutes between a trip's start, its stops and its end on ``graph`` (door to door: a stop's
    walk access counted on arrival and on leaving). Unreachable pairs are inf."""
    nodes = np.r_[start_node, stop_nodes, end_node].astype(np.int64)
    access = np.r_[0.0, stop_access, 0.0]
    dist = dijkstra(graph.csr, directed=True, indices=nodes)[:, nodes]
    cost = dist + access[:, None] + access[None, :]
    np.fill_diagonal(cost, 0.0)
    return cost


def order_trips(done, per_trip: int, route_cost) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trips of each truck-day: consecutive emptyings (in the order the truck took them) with the
    same plant, at most ``per_trip`` a trip. Returns per emptying its trip number within the
    truck-day, its stop within the trip (the best order; the order taken where
    ``route_cost(base, households, plant)`` knows no route) and the trip's drive minutes (nan
    where it knows none: the caller keeps its own estimate).
    ``done``: the scheduler's rows (day, base, truck, household, plant)."""
    n = len(done)
    trip, stop, minutes = np.zeros(n, np.int64), np.ones(n, np.int64), np.full(n, np.nan)
    if not n:
        return trip, stop, minutes
    day, base, truck = (done[c].to_numpy() for c in ("day", "base", "truck"))
    household, plant = done["household"].to_numpy(), done["plant"].to_numpy()
    start = 0
    while start < n:
        end = start
        while end < n and (day[end], base[end], truck[end]) == (day[start], base[start], truck[start]):
            end += 1
        number, i = 0, start
        while i < end:
            j = i + 1
            while j < end and j - i < per_trip and plant[j] == plant[i]:
                j += 1
            number += 1
            trip[i:j] = number
            if j - i > 1:
                stop[i:j] = np.arange(1, j - i + 1)  # the order taken, unless the network gives a route
                cost = route_cost(int(base[i]), household[i:j], int(plant[i]))
                if cost is not None and np.isfinite(cost).all():
                    order, length = best_order(cost)
                    stop[[i + s - 1 for s in order]] = np.arange(1, len(order) + 1)
                    minutes[i:j] = length
            i = j
        start = end
    return trip, stop, minutes
