"""Allocation in independent parts equals the allocation in one piece (hypothesis), and the parts
are what they should be: closed under reach and shared plant capacity, balanced."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.analysis.allocation import allocate
from gis_service.analysis.partition import allocate_by_parts, pack, reach_components, split

N_F, N_H = 8, 40
pairs = st.lists(st.tuples(st.integers(0, N_F - 1), st.integers(0, N_H - 1), st.sampled_from([5.0, 10.0, 30.0, 70.0])),
                 max_size=60, unique_by=lambda p: (p[0], p[1]))
caps = st.lists(st.one_of(st.integers(0, 6).map(float), st.just(np.inf)), min_size=N_F, max_size=N_F)
groups = st.lists(st.integers(-1, 2), min_size=N_F, max_size=N_F)


def _arrays(pair_list):
    if not pair_list:
        return np.array([], np.int64), np.array([], np.int64), np.array([], float)
    fac, hh, cost = zip(*pair_list)
    return np.array(fac), np.array(hh), np.array(cost)


@settings(max_examples=300, deadline=None)
@given(pairs, caps, groups, st.permutations(range(N_F)), st.integers(1, 4), st.integers(0, 8), st.booleans())
def test_parts_give_the_allocation_of_one_piece(pair_list, capacity, group, order, n_parts, budget, grouped):
    """Same served_by, nearest, costs and counts, whatever the facility order, capacities, shared
    plant capacity, threshold and number of parts (costs are drawn from few values, so ties occur)."""
    fac, hh, cost = _arrays(pair_list)
    kw = {"n_facilities": N_F, "n_households": N_H, "capacity": np.array(capacity), "order": np.array(order),
          "limit": 30.0, "group": np.array(group) if grouped else None,
          "group_capacity": np.full(3, float(budget)) if grouped else None}
    whole = allocate(fac, hh, cost, **kw)
    parted = allocate_by_parts(fac, hh, cost, n_parts=n_parts, **kw)
    for field in ("served_by", "nearest", "nearest_cost", "in_reach", "served"):
        assert np.array_equal(getattr(whole, field), getattr(parted, field)), field


@settings(max_examples=150, deadline=None)
@given(pairs, groups, st.integers(1, 4))
def test_parts_are_closed_under_reach_and_shared_capacity(pair_list, group, n_parts):
    fac, hh, cost = _arrays(pair_list)
    parts = split(fac, hh, cost, n_facilities=N_F, n_households=N_H, capacity=np.ones(N_F), order=np.arange(N_F),
                  limit=np.inf, n_parts=n_parts, group=np.array(group), group_capacity=np.ones(3))
    assert len(parts) <= n_parts
    assert sorted(np.concatenate([p.facilities for p in parts]).tolist()) == list(range(N_F))  # each once
    households = np.concatenate([p.households for p in parts])
    assert len(households) == len(set(households.tolist()))  # no household in two parts
    part_of = {f: i for i, p in enumerate(parts) for f in p.facilities.tolist()}
    for f, h, _ in pair_list:  # a household reached by two facilities keeps them together
        assert any(h in p.households and f in p.facilities for p in parts)
        assert all(part_of[g] == part_of[f] for g, k, _ in pair_list if k == h)
    for g in range(3):  # a shared plant keeps its depots together
        assert len({part_of[f] for f in np.flatnonzero(np.array(group) == g).tolist()}) <= 1


def test_components_and_packing_on_a_hand_case():
    # facilities 0 and 1 share household 1; facility 2 is alone with household 3; facility 3
    # reaches nobody but shares a plant with facility 2; household 2 is out of reach
    fac, hh = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 3])
    f_comp, h_comp = reach_components(fac, hh, n_facilities=4, n_households=4, group=np.array([-1, -1, 0, 0]))
    assert f_comp[0] == f_comp[1] != f_comp[2] and f_comp[2] == f_comp[3]
    assert h_comp[0] == h_comp[1] == f_comp[0] and h_comp[2] == -1 and h_comp[3] == f_comp[2]
    assert pack(np.array([5, 1, 4, 2]), 2).tolist() == [0, 0, 1, 1]  # heaviest first: 5 + 1 | 4 + 2
