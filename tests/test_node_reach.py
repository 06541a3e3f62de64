"""Allocation over network reach kept per node equals allocation over the listed pairs.

``node_reach.allocate_reach`` derives each facility's candidates from its reached nodes when its
turn comes; ``allocation.allocate`` takes the (facility, household) pairs of
``network.facility_to_points``. On random networks with a river layer, households sharing nodes
(ties in cost), capacities that bind, plant groups and two transport means, every output must be
identical, not close.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.analysis.allocation import allocate, facility_order
from gis_service.analysis.network import build_graph, facility_to_points
from gis_service.analysis.node_reach import allocate_reach, node_reach, reach_counts
from tests.test_network import PARAMS, _random_network

LIMIT = 40.0
FRAME, _, _ = _random_network(seed=5, k=15, river_column=7)
GRAPHS = {"road": build_graph(FRAME, modes={"road"}, params=PARAMS),
          "both": build_graph(FRAME, modes={"road", "river"}, params=PARAMS)}


def _case(seed: int, n_fac: int, n_points: int):
    rng = np.random.default_rng(seed)
    facilities = rng.uniform(-300, 6000, (n_fac, 2))
    base = rng.uniform(-300, 6000, (n_points, 2))
    points = np.vstack([base, base[: n_points // 3]])  # repeated houses: exact ties in cost
    capacity = np.where(rng.random(n_fac) < 0.7, rng.integers(0, 40, n_fac), np.inf).astype(float)
    means = rng.random(n_fac) < 0.5  # True: boats and trucks, else trucks only
    group = np.where(rng.random(n_fac) < 0.4, rng.integers(0, 3, n_fac), -1)
    return facilities, points, capacity, means, group, rng


def _pairs(facilities, points, means):
    out = []
    for graph, idx in ((GRAPHS["both"], np.flatnonzero(means)), (GRAPHS["road"], np.flatnonzero(~means))):
        reach = facility_to_points(graph, facilities[idx], points, params=PARAMS, limit_min=LIMIT)
        out.append((idx[reach.facility], reach.point, reach.minutes))
    return tuple(np.concatenate(column) for column in zip(*out))


def _parts(facilities, points, means):
    return [node_reach(graph, facilities[idx], points, params=PARAMS, limit_min=LIMIT, index=idx)
            for graph, idx in ((GRAPHS["both"], np.flatnonzero(means)),
                               (GRAPHS["road"], np.flatnonzero(~means)))]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 14), n_points=st.integers(1, 300),
       how=st.sampled_from(["priority", "given", "demand"]), grouped=st.booleans())
def test_allocation_per_node_equals_allocation_of_pairs(seed, n_fac, n_points, how, grouped):
    facilities, points, capacity, means, group, rng = _case(seed, n_fac, n_points)
    pairs = _pairs(facilities, points, means)
    parts = _parts(facilities, points, means)
    counts = reach_counts(parts, n_facilities=n_fac, n_households=len(points))
    assert np.array_equal(counts, np.bincount(pairs[0], minlength=n_fac))
    order = facility_order(n_fac, how=how, fac=pairs[0], priority=rng.integers(0, 3, n_fac))
    groups = dict(group=group, group_capacity=rng.integers(0, 60, 3).astype(float)) if grouped else {}
    want = allocate(*pairs, n_facilities=n_fac, n_households=len(points), capacity=capacity,
                    order=order, limit=LIMIT, **groups)
    got = allocate_reach(parts, n_facilities=n_fac, n_households=len(points), capacity=capacity,
                         order=order, **groups)
    for name in ("served_by", "nearest", "nearest_cost", "in_reach", "served"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_a_small_case_by_hand():
    """Two facilities, households on both sides: values, not only agreement."""
    facilities, points, capacity, means, _, _ = _case(11, 6, 250)
    parts = _parts(facilities, points, means)
    got = allocate_reach(parts, n_facilities=6, n_households=len(points), capacity=np.full(6, 5.0),
                         order=np.arange(6))
    pairs = _pairs(facilities, points, means)
    assert got.in_reach.sum() == len(pairs[0]) > 100
    assert (got.served <= 5).all() and got.served.sum() == (got.served_by >= 0).sum()
    # a facility takes its nearest free households: nobody it left out is nearer than its farthest
    for f in range(6):
        mine = pairs[0] == f
        cost = dict(zip(pairs[1][mine].tolist(), pairs[2][mine].tolist()))
        taken = [cost[h] for h in np.flatnonzero(got.served_by == f)]
        free_left = [c for h, c in cost.items() if got.served_by[h] < 0]
        if taken and free_left:
            assert max(taken) <= min(free_left)
