"""Facility siting: hand-made cases with known optima, properties against brute force on small
random problems, and a cross-check with spopt's MCLP where both models coincide."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import maximum_flow

from gis_service.analysis.siting import (
    SitingProblem,
    SitingSolution,
    optimality_gap,
    solve_exact,
    solve_greedy,
)

INF = np.inf


def problem(demand, pairs, *, capacity=None, cost=None, fixed=None, max_new=None, budget=None
            ) -> SitingProblem:
    """A problem from (facility, demand point, minutes) triples; F from capacity/cost/fixed."""
    n_fac = len(next(a for a in (capacity, cost, fixed) if a is not None))
    facility, point, minutes = (np.array(col) for col in zip(*pairs))
    return SitingProblem(
        demand=np.asarray(demand, float), pair_facility=facility.astype(int),
        pair_demand=point.astype(int), pair_minutes=minutes.astype(float),
        capacity=np.full(n_fac, INF) if capacity is None else np.asarray(capacity, float),
        cost=np.ones(n_fac) if cost is None else np.asarray(cost, float),
        fixed=np.zeros(n_fac, bool) if fixed is None else np.asarray(fixed, bool),
        max_new=max_new, budget=budget)


def flow_on(p: SitingProblem, solution: SitingSolution) -> dict[tuple[int, int], float]:
    """{(facility, demand point): households} for the pairs carrying any."""
    return {(int(f), int(i)): float(x) for f, i, x in
            zip(p.pair_facility, p.pair_demand, solution.assigned) if x > 1e-9}


def assert_feasible(p: SitingProblem, s: SitingSolution) -> None:
    """Everything a solution promises: fixed open, limits kept, a flow within demand/capacity."""
    chosen = set(s.chosen.tolist())
    assert len(chosen) == len(s.chosen)
    assert not chosen & set(np.flatnonzero(p.fixed).tolist())
    assert s.open.tolist() == [bool(f) or j in chosen for j, f in enumerate(p.fixed)]
    assert (s.assigned >= 0).all()
    assert (s.assigned[~s.open[p.pair_facility]] == 0).all()
    assert (np.bincount(p.pair_demand, s.assigned, len(p.demand)) <= p.demand + 1e-9).all()
    assert (s.served_by_facility(p) <= p.capacity + 1e-9).all()
    assert s.covered == pytest.approx(s.assigned.sum())
    assert s.new_cost == pytest.approx(p.cost[s.chosen].sum())
    if p.max_new is not None:
        assert len(chosen) <= p.max_new
    if p.budget is not None:
        assert s.new_cost <= p.budget + 1e-9
    assert s.covered <= p.pool(s.open) + 1e-6


# --- hand-made cases with known optima ------------------------------------------------------

# candidate 0 reaches the middle four points (20 households), 1 and 2 the two halves (16 each)
TRAP = problem([6, 5, 5, 5, 5, 6],
               [(0, 1, 1), (0, 2, 1), (0, 3, 1), (0, 4, 1),
                (1, 0, 1), (1, 1, 1), (1, 2, 1), (2, 3, 1), (2, 4, 1), (2, 5, 1)],
               capacity=[INF] * 3, max_new=2)


def test_greedy_first_pick_is_a_trap_that_exact_avoids():
    greedy, exact = solve_greedy(TRAP), solve_exact(TRAP, time_limit=5)
    assert greedy.chosen.tolist() == [0, 1]  # 20, then 6 more (1 and 2 tie: lower index)
    assert greedy.covered == 26
    assert exact.chosen.tolist() == [1, 2]
    assert exact.covered == pytest.approx(32)
    assert (exact.status, exact.method, greedy.status, greedy.method) == (
        "Optimal", "exact", "greedy", "greedy")
    assert exact.mip_gap <= 1e-4 and greedy.mip_gap is None
    assert optimality_gap(exact, greedy) == pytest.approx(6 / 32)
    assert_feasible(TRAP, greedy)
    assert_feasible(TRAP, exact)


def test_capacity_limits_what_a_site_covers_nearest_first():
    # site 0 reaches all three points (nearest: 1, then 2, then 0) but takes only 12
    p = problem([10, 10, 10], [(0, 0, 5), (0, 1, 1), (0, 2, 3), (1, 0, 2)],
                capacity=[12, INF], max_new=1)
    greedy, exact = solve_greedy(p), solve_exact(p, time_limit=5)
    assert greedy.chosen.tolist() == [0] and exact.chosen.tolist() == [0]
    assert greedy.covered == exact.covered == pytest.approx(12)
    assert flow_on(p, greedy) == {(0, 1): 10, (0, 2): 2}
    assert exact.served_by_facility(p).tolist() == pytest.approx([12, 0])
    both = solve_exact(replace(p, max_new=2), time_limit=5)
    assert both.chosen.tolist() == [0, 1] and both.covered == pytest.approx(22)
    assert both.served_by_facility(p).tolist() == pytest.approx([12, 10])


def test_exact_reroutes_a_fixed_facility_so_a_new_site_adds_households():
    # fixed 0 (capacity 10) takes its nearest point 0; only site 1 reaches point 0 as well
    p = problem([10, 10], [(0, 0, 1), (0, 1, 5), (1, 0, 1)],
                capacity=[10, INF], fixed=[True, False], max_new=1)
    greedy, exact = solve_greedy(p), solve_exact(p, time_limit=5)
    assert greedy.chosen.tolist() == [] and greedy.covered == 10 and greedy.baseline == 10
    assert flow_on(p, greedy) == {(0, 0): 10}
    assert exact.chosen.tolist() == [1]
    assert (exact.covered, exact.baseline, exact.newly_covered) == pytest.approx((20, 10, 10))
    assert flow_on(p, exact) == pytest.approx({(0, 1): 10, (1, 0): 10})


def test_budget_two_cheap_sites_beat_one_expensive():
    # site 0: 30 households for 6; sites 1 and 2: 20 each for 5; budget 10
    pairs = [(0, i, 1) for i in range(3)] + [(1, 3, 1), (1, 4, 1), (2, 5, 1), (2, 6, 1)]
    p = problem([10, 10, 10, 10, 10, 10, 10], pairs, capacity=[INF] * 3, cost=[6, 5, 5],
                budget=10)
    greedy, exact = solve_greedy(p), solve_exact(p, time_limit=5)
    assert greedy.chosen.tolist() == [0] and greedy.covered == 30  # best ratio, then broke
    assert exact.chosen.tolist() == [1, 2] and exact.covered == pytest.approx(40)
    assert exact.new_cost == 10
    one = solve_exact(replace(p, max_new=1), time_limit=5)  # both limits at once
    assert one.chosen.tolist() == [0] and one.covered == pytest.approx(30)


def test_greedy_budget_ties_on_ratio_go_to_the_larger_gain():
    # same 5 households per unit of cost; the larger site uses the budget better
    p = problem([10, 20], [(0, 0, 1), (1, 1, 1)], capacity=[INF, INF], cost=[2, 4], budget=4)
    greedy = solve_greedy(p)
    assert greedy.chosen.tolist() == [1] and greedy.covered == 20
    assert solve_exact(p, time_limit=5).covered == pytest.approx(20)


def test_fixed_facility_covers_its_area_so_the_new_site_goes_elsewhere():
    # site 1 reaches the most households (25) but 20 of them the fixed facility serves already
    p = problem([10, 10, 5, 8],
                [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1), (1, 2, 1), (2, 3, 1)],
                capacity=[INF] * 3, fixed=[True, False, False], max_new=1)
    for solution in (solve_greedy(p), solve_exact(p, time_limit=5)):
        assert solution.chosen.tolist() == [2]
        assert solution.open.tolist() == [True, False, True]
        assert (solution.covered, solution.baseline) == pytest.approx((28, 20))
        assert solution.newly_covered == pytest.approx(8)
        assert_feasible(p, solution)


def test_new_sites_that_add_nobody_are_not_opened():
    p = problem([10], [(0, 0, 1), (1, 0, 1), (2, 0, 2)], capacity=[INF] * 3, max_new=3)
    assert solve_greedy(p).chosen.tolist() == [0]
    exact = solve_exact(p, time_limit=5)
    assert len(exact.chosen) == 1 and exact.covered == pytest.approx(10)


@pytest.mark.parametrize("p, best", [
    # greedy lets fixed 0 take point 0 and opens nothing (18); a new site at point 0 frees it
    (problem([2, 0, 17], [(0, 0, 0), (0, 2, 0), (1, 0, 0), (1, 1, 0), (2, 0, 0)],
             capacity=[18, INF, INF], cost=[0, 0, 0], fixed=[True, False, False], max_new=1),
     19),
    (problem([4, 14, 2, 0, 4, 5, 15, 20, 8, 6, 4],
             [(0, 2, 1), (0, 4, 1), (0, 7, 2), (0, 8, 1), (0, 10, 1),
              (1, 2, 4), (1, 3, 5), (1, 6, 2), (1, 8, 3), (1, 10, 2)],
             capacity=[31, 17], cost=[0, 7], max_new=2, budget=13),
     48),
])
def test_exact_is_right_where_highs_misreads_the_start(p, best):
    """HiGHS 1.16 turned these greedy starts into incumbents better than the optimum."""
    exact = solve_exact(p, time_limit=5, mip_rel_gap=0.0)
    assert exact.covered == pytest.approx(best) and exact.status == "Optimal"
    assert_feasible(p, exact)


def test_from_cost_matrix_keeps_reachable_pairs_within_the_threshold():
    minutes = np.array([[5.0, INF, 30.0], [30.0001, 12.0, INF]])  # 2 demand x 3 facilities
    p = SitingProblem.from_cost_matrix(minutes, 30.0, demand=[4, 6], capacity=[INF, 5, INF],
                                       cost=[1, 2, 3], fixed=[True, False, False], max_new=1)
    got = sorted(zip(p.pair_facility.tolist(), p.pair_demand.tolist(), p.pair_minutes.tolist()))
    assert got == [(0, 0, 5.0), (1, 1, 12.0), (2, 0, 30.0)]
    exact = solve_exact(p, time_limit=5)
    assert exact.chosen.tolist() == [1] and exact.covered == pytest.approx(9)


def random_problem(rng: np.random.Generator, n: int, n_fac: int, per: int, *, cap_share: float,
                   max_new: int) -> SitingProblem:
    """``per`` nearest facilities of every point, capacity a share of total demand."""
    points, sites = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (n_fac, 2))
    minutes = np.linalg.norm(points[:, None] - sites[None], axis=2)
    nearest = np.argpartition(minutes, per, axis=1)[:, :per].ravel()
    point = np.repeat(np.arange(n), per)
    demand = rng.integers(10, 200, n).astype(float)
    fixed = np.zeros(n_fac, bool)
    fixed[: n_fac // 20] = True
    return SitingProblem(demand=demand, pair_facility=nearest, pair_demand=point,
                         pair_minutes=minutes[point, nearest],
                         capacity=np.full(n_fac, demand.sum() * cap_share),
                         cost=rng.uniform(1, 5, n_fac), fixed=fixed, max_new=max_new)


def test_exact_is_deterministic_and_not_worse_than_greedy_on_a_random_district():
    p = random_problem(np.random.default_rng(7), 300, 60, 10, cap_share=1 / 30, max_new=8)
    first, second = solve_exact(p, time_limit=10), solve_exact(p, time_limit=10)
    greedy = solve_greedy(p)
    assert first.chosen.tolist() == second.chosen.tolist() and first.covered == second.covered
    assert first.covered >= greedy.covered - 1e-6 and first.baseline >= greedy.baseline - 1e-6
    assert 0 <= optimality_gap(first, greedy) < 1
    assert_feasible(p, first)
    assert_feasible(p, greedy)


def test_time_limit_is_reported_and_the_warm_start_kept():
    p = random_problem(np.random.default_rng(3), 300, 60, 10, cap_share=1 / 30, max_new=8)
    greedy = solve_greedy(p)
    stopped = solve_exact(p, time_limit=0.0, warm_start=greedy)
    assert stopped.status == "Time limit reached"
    assert stopped.mip_gap is not None and stopped.mip_gap > 0
    assert stopped.covered >= greedy.covered - 1e-6
    assert_feasible(p, stopped)


def test_optimality_gap_is_zero_when_nothing_can_be_covered():
    p = problem([0, 0], [(0, 0, 1)], capacity=[INF], max_new=1)
    assert optimality_gap(solve_exact(p, time_limit=5), solve_greedy(p)) == 0.0


def test_a_depot_serves_only_what_the_plants_can_treat_and_a_plant_unlocks_it():
    # facility 0: a fixed depot reaching 30 households (treats nothing); 1: the fixed IPLT, far
    # from everyone, treating 10; 2: a candidate IPLT treating 15 that reaches nobody either;
    # 3: a candidate depot reaching 8 other households (treats nothing)
    p = replace(problem([30, 8], [(0, 0, 1), (3, 1, 1)], capacity=[INF, INF, INF, INF],
                        fixed=[True, True, False, False], max_new=1),
                treatment=np.array([0.0, 10.0, 15.0, 0.0]))
    for s in (solve_greedy(p), solve_exact(p, time_limit=5)):
        assert s.baseline == pytest.approx(10.0)  # not 30: the IPLT treats sludge of 10 households
        assert s.chosen.tolist() == [2]  # the plant that serves nobody itself unlocks 15 more
        assert s.covered == pytest.approx(25.0)
        assert_feasible(p, s)
    # two sites: the depot then adds nothing the plants could treat, so it stays closed
    two = replace(p, max_new=2)
    assert solve_exact(two, time_limit=5).covered == pytest.approx(25.0)
    assert solve_exact(two, time_limit=5).chosen.tolist() == [2]


def test_greedy_counts_a_household_once_when_a_plant_reaches_what_a_depot_already_does():
    # a fixed depot reaches A (50 households) and treats nothing; plant 1 also reaches A, plant 2
    # reaches B (80); each treats 100. Plant 1 only adds treatment for A, plant 2 adds B as well.
    p = replace(problem([50, 80], [(0, 0, 1), (1, 0, 1), (2, 1, 1)], capacity=[INF] * 3,
                        fixed=[True, False, False], max_new=1), treatment=np.array([0.0, 100.0, 100.0]))
    for s in (solve_greedy(p), solve_exact(p, time_limit=5)):
        assert s.chosen.tolist() == [2] and s.covered == pytest.approx(100.0)
        assert_feasible(p, s)


# --- properties against brute force ---------------------------------------------------------


@st.composite
def small_problems(draw) -> SitingProblem:
    n, n_fac = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    reach = draw(st.lists(st.booleans(), min_size=n * n_fac, max_size=n * n_fac))
    facility, point = np.divmod(np.flatnonzero(reach), n)
    minutes = draw(st.lists(st.integers(0, 5), min_size=len(facility), max_size=len(facility)))
    capacity = draw(st.lists(st.one_of(st.just(INF), st.integers(0, 40)),
                             min_size=n_fac, max_size=n_fac))
    max_new = draw(st.one_of(st.none(), st.integers(0, n_fac)))
    budget = draw(st.none() if max_new is None else st.one_of(st.none(), st.integers(0, 30)))
    return SitingProblem(
        demand=np.array(draw(st.lists(st.integers(0, 20), min_size=n, max_size=n)), float),
        pair_facility=facility, pair_demand=point, pair_minutes=np.array(minutes, float),
        capacity=np.array(capacity, float),
        cost=np.array(draw(st.lists(st.integers(0, 10), min_size=n_fac, max_size=n_fac)), float),
        fixed=np.array(draw(st.lists(st.booleans(), min_size=n_fac, max_size=n_fac)), bool),
        max_new=max_new, budget=budget if max_new is not None else draw(st.integers(0, 30)),
        treatment=draw(st.one_of(st.none(), st.lists(st.one_of(st.just(INF), st.integers(0, 30)),
                                                     min_size=n_fac, max_size=n_fac))))


def max_flow(p: SitingProblem, open_: np.ndarray) -> int:
    """Households the open facilities can serve (integer data): source -> demand -> facility
    -> sink."""
    n, n_fac = len(p.demand), len(p.capacity)
    sink, big = n + n_fac + 1, int(p.demand.sum())
    use = open_[p.pair_facility]
    tails = np.r_[np.zeros(n, int), 1 + p.pair_demand[use], 1 + n + np.arange(n_fac)]
    heads = np.r_[1 + np.arange(n), 1 + n + p.pair_facility[use], np.full(n_fac, sink)]
    caps = np.r_[p.demand, p.demand[p.pair_demand[use]],
                 np.where(open_, np.minimum(p.capacity, big), 0)].astype(np.int32)
    graph = sp.csr_matrix((caps, (tails, heads)), shape=(sink + 1, sink + 1))
    return maximum_flow(graph, 0, sink).flow_value


def brute_force(p: SitingProblem) -> int:
    """Best coverage over every subset of candidates within the limits."""
    candidates = np.flatnonzero(~p.fixed)
    best = 0
    for k in range(len(candidates) + 1):
        if p.max_new is not None and k > p.max_new:
            break
        for subset in itertools.combinations(candidates, k):
            if p.budget is not None and p.cost[list(subset)].sum() > p.budget:
                continue
            open_ = p.fixed.copy()
            open_[list(subset)] = True
            best = max(best, min(max_flow(p, open_), p.pool(open_)))
    return best


@settings(max_examples=150, deadline=None)
@given(small_problems())
def test_exact_matches_brute_force_and_bounds_greedy(p: SitingProblem):
    exact = solve_exact(p, time_limit=10, mip_rel_gap=0.0)
    greedy = solve_greedy(p)
    assert exact.status in {"Optimal", "Empty"}  # Empty: no pair and no candidate
    assert 0 <= exact.mip_gap < 1e-6
    assert exact.covered == pytest.approx(brute_force(p), abs=1e-6)
    assert exact.baseline == pytest.approx(min(max_flow(p, p.fixed), p.pool(p.fixed)), abs=1e-6)
    assert exact.covered >= greedy.covered - 1e-6
    assert greedy.baseline <= exact.baseline + 1e-6
    assert_feasible(p, exact)
    assert_feasible(p, greedy)


# --- spopt ----------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pulp 3 warns about spopt
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_uncapacitated_count_limited_case_matches_spopt_mclp(seed):
    spopt_locate = pytest.importorskip("spopt.locate")
    pulp = pytest.importorskip("pulp")
    rng = np.random.default_rng(seed)
    minutes = rng.uniform(0, 60, (80, 15))
    minutes[rng.random(minutes.shape) < 0.2] = INF  # no road
    demand = rng.integers(1, 50, 80).astype(float)
    fixed = np.zeros(15, bool)
    fixed[[2, 9]] = True
    p = SitingProblem.from_cost_matrix(minutes, 20.0, demand=demand, capacity=np.full(15, INF),
                                       cost=np.ones(15), fixed=fixed, max_new=3)
    mclp = spopt_locate.MCLP.from_cost_matrix(
        minutes, demand, service_radius=20.0, p_facilities=int(fixed.sum()) + 3,
        predefined_facilities_arr=fixed.astype(int))
    solver = pulp.HiGHS(msg=False) if pulp.HiGHS().available() else pulp.PULP_CBC_CMD(msg=False)
    mclp.solve(solver)
    exact = solve_exact(p, time_limit=10, mip_rel_gap=0.0)
    assert exact.covered == pytest.approx(pulp.value(mclp.problem.objective), abs=1e-6)
    assert exact.covered >= solve_greedy(p).covered - 1e-6


# --- invalid inputs -------------------------------------------------------------------------


def valid_kwargs() -> dict:
    return {"demand": np.array([5.0, 3.0]), "pair_facility": np.array([0, 1]),
            "pair_demand": np.array([0, 1]), "pair_minutes": np.array([1.0, 2.0]),
            "capacity": np.array([INF, 4.0]), "cost": np.array([1.0, 2.0]),
            "fixed": np.array([True, False]), "max_new": 1}


@pytest.mark.parametrize("change, message", [
    ({"demand": np.array([5.0, -1.0])}, "demand must be finite and >= 0"),
    ({"demand": np.array([[5.0, 3.0]])}, "demand must be 1-D"),
    ({"pair_facility": np.array([0, 2])}, r"pair_facility must be in 0\.\.1"),
    ({"pair_demand": np.array([0, -1])}, r"pair_demand must be in 0\.\.1"),
    ({"pair_facility": np.array([0.0, 1.0])}, "pair_facility must hold integer indices"),
    ({"pair_demand": np.array([0, 1, 1])}, "pair_demand has 3 pairs, pair_facility has 2"),
    ({"pair_facility": np.array([1, 1]), "pair_demand": np.array([1, 1])}, "duplicate"),
    ({"pair_minutes": np.array([1.0, np.nan])}, "pair_minutes must be finite"),
    ({"capacity": np.array([INF, -4.0])}, "capacity must be >= 0"),
    ({"capacity": np.array([INF, np.nan])}, "capacity must be >= 0"),
    ({"cost": np.array([1.0, -2.0])}, "cost must be finite and >= 0"),
    ({"cost": np.array([1.0])}, "cost has 1 facilities, capacity has 2"),
    ({"fixed": np.array([1, 0])}, "fixed must be boolean"),
    ({"max_new": None}, "give max_new or budget"),
    ({"max_new": -1}, "max_new must be an integer >= 0"),
    ({"max_new": 1.5}, "max_new must be an integer >= 0"),
    ({"budget": INF}, "budget must be finite and >= 0"),
    ({"budget": -1.0}, "budget must be finite and >= 0"),
])
def test_invalid_problem_raises_a_clear_error(change, message):
    with pytest.raises(ValueError, match=message):
        SitingProblem(**{**valid_kwargs(), **change})


@pytest.mark.parametrize("matrix, message", [
    (np.array([1.0, 2.0]), "cost_matrix must be 2-D"),
    (np.array([[1.0, np.nan]]), "cost_matrix must be >= 0 minutes"),
    (np.array([[1.0, -2.0]]), "cost_matrix must be >= 0 minutes"),
])
def test_invalid_cost_matrix_raises(matrix, message):
    with pytest.raises(ValueError, match=message):
        SitingProblem.from_cost_matrix(matrix, 10.0, demand=[1.0], capacity=[INF, INF],
                                       cost=[1, 1], fixed=[False, False], max_new=1)


def test_infeasible_warm_start_is_rejected():
    p = problem([10, 10], [(0, 0, 1), (1, 1, 1)], capacity=[5, INF], max_new=1)
    start = solve_greedy(p)
    over = SitingSolution(**{**start.__dict__, "open": np.array([True, True]),
                             "chosen": np.array([0, 1]), "assigned": np.array([10.0, 10.0])})
    with pytest.raises(ValueError, match="over capacity, too many new sites"):
        solve_exact(p, warm_start=over)
