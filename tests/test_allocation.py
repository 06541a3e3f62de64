"""Allocation on hand-computed cases and its properties (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.analysis.allocation import allocate, facility_order, nearest_k

INF = np.inf


def _alloc(pairs, caps, limit=60.0, n_h=None, order=None):
    fac, hh, cost = (np.array(x) for x in zip(*pairs)) if pairs else (np.array([], int),) * 2 + (np.array([]),)
    n_f = len(caps)
    n_h = n_h if n_h is not None else (int(hh.max()) + 1 if len(hh) else 0)
    order = np.arange(n_f) if order is None else np.array(order)
    return allocate(fac, hh, cost, n_facilities=n_f, n_households=n_h, capacity=np.array(caps, float),
                    order=order, limit=limit)


def test_nearest_first_until_capacity_and_band_edge_inclusive():
    # facility 0 reaches households 0..3 at 10, 20, 60.0 (exactly the limit) and 60.5 minutes
    a = _alloc([(0, 0, 10), (0, 1, 20), (0, 2, 60.0), (0, 3, 60.5)], [INF])
    assert a.served_by.tolist() == [0, 0, 0, -1]
    b = _alloc([(0, 0, 10), (0, 1, 20), (0, 2, 60.0), (0, 3, 60.5)], [2])
    assert b.served_by.tolist() == [0, 0, -1, -1] and b.served.tolist() == [2]


def test_ties_at_the_capacity_edge_go_by_household_order():
    a = _alloc([(0, 2, 30), (0, 0, 30), (0, 1, 30)], [2])
    assert a.served_by.tolist() == [0, 0, -1]


def test_zero_capacity_serves_nobody_but_counts_reach():
    a = _alloc([(0, 0, 5), (1, 0, 50)], [0, INF])
    assert a.served_by.tolist() == [1] and a.nearest.tolist() == [0] and a.in_reach.tolist() == [1, 1]


def test_overlapping_areas_follow_the_facility_order():
    pairs = [(0, 0, 10), (0, 1, 10), (1, 1, 5), (1, 2, 5)]
    first_then_second = _alloc(pairs, [1, 1])
    assert first_then_second.served_by.tolist() == [0, 1, -1]
    second_first = _alloc(pairs, [1, 1], order=[1, 0])  # facility 1 first: h1 and h2 tie, h1 wins
    assert second_first.served_by.tolist() == [0, 1, -1]
    big_second = _alloc(pairs, [1, 2], order=[1, 0])
    assert big_second.served_by.tolist() == [0, 1, 1]


def test_demand_order_puts_the_busiest_facility_first():
    fac = np.array([0, 1, 1, 1])
    assert facility_order(2, how="demand", fac=fac).tolist() == [1, 0]


pair_lists = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 29), st.floats(0, 90)), max_size=80)
caps = st.lists(st.one_of(st.integers(0, 10).map(float), st.just(INF)), min_size=5, max_size=5)


def _unique(pairs):
    seen = {}
    for f, h, c in pairs:
        seen.setdefault((f, h), c)
    return [(f, h, c) for (f, h), c in seen.items()]


@settings(max_examples=200, deadline=None)
@given(pair_lists, caps, st.floats(0, 90))
def test_properties(pairs, capacity, limit):
    pairs = _unique(pairs)
    a = _alloc(pairs, capacity, limit=limit, n_h=30)
    served = np.bincount(a.served_by[a.served_by >= 0], minlength=5)
    assert (served <= np.array(capacity)).all()  # served <= capacity
    assert (served == a.served).all()
    total = 30
    assert (a.served_by >= 0).sum() + (a.served_by < 0).sum() == total  # served + unserved = demand
    for h in np.flatnonzero(a.served_by >= 0):  # a household is only served by a facility in reach
        assert any(f == a.served_by[h] and hh == h and c <= limit + 1e-9 for f, hh, c in pairs)
    # more capacity or a larger threshold never lowers coverage
    bigger = _alloc(pairs, [c + 1 for c in capacity], limit=limit, n_h=30)
    farther = _alloc(pairs, capacity, limit=limit + 10, n_h=30)
    assert (bigger.served_by >= 0).sum() >= (a.served_by >= 0).sum()
    assert (farther.served_by >= 0).sum() >= (a.served_by >= 0).sum()
    # input order does not matter
    shuffled = _alloc(list(reversed(pairs)), capacity, limit=limit, n_h=30)
    assert (shuffled.served_by == a.served_by).all()
    by_household = _alloc(sorted(pairs, key=lambda p: (p[1], p[0])), capacity, limit=limit, n_h=30)
    assert (by_household.served_by == a.served_by).all()  # the CSR-transpose path agrees


@given(pair_lists, caps, st.lists(st.integers(-1, 2), min_size=5, max_size=5), st.integers(0, 12))
@settings(max_examples=150, deadline=None)
def test_a_group_never_serves_more_than_its_shared_capacity(pairs, capacity, group, budget):
    pairs = _unique(pairs)
    fac, hh, cost = (np.array(x) for x in zip(*pairs)) if pairs else (np.array([], int),) * 2 + (np.array([]),)
    groups = np.array(group)
    shared = np.full(3, float(budget))
    a = allocate(fac, hh, cost, n_facilities=5, n_households=30, capacity=np.array(capacity, float),
                 order=np.arange(5), limit=60.0, group=groups, group_capacity=shared)
    for g in range(3):
        assert a.served[groups == g].sum() <= budget
    assert (a.served <= np.array(capacity)).all()
    assert (np.bincount(a.served_by[a.served_by >= 0], minlength=5) == a.served).all()


@given(pair_lists, st.integers(1, 4))
@settings(max_examples=150, deadline=None)
def test_nearest_k_equals_a_full_sort(pairs, k):
    pairs = sorted(_unique(pairs), key=lambda p: (p[1], p[0]))  # by household, then facility
    if not pairs:
        return
    fac, hh, cost = (np.array(x) for x in zip(*pairs))
    h, rank, f, c = nearest_k(hh, fac, cost, k=k)
    got = sorted(zip(h.tolist(), rank.tolist(), f.tolist(), c.tolist()))
    expected = []
    for household in sorted(set(hh.tolist())):
        mine = sorted((p[2], p[0]) for p in pairs if p[1] == household)[:k]
        expected += [(household, r + 1, fac_, cost_) for r, (cost_, fac_) in enumerate(mine)]
    assert got == sorted(expected)
