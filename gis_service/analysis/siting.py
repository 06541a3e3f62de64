"""Facility siting for scale-up: which candidate sites to open next (sludge plants, desludging
depots, communal wastewater plants), with the existing and pilot facilities kept open.

The problem is a *capacitated maximal covering* problem with fixed facilities: households in
reach of a facility (the pairs within the travel-time threshold) may be served by it, each
facility serves at most its capacity in households, a demand point's households may be split
among several open facilities, and at most ``max_new`` new sites and/or new sites costing at
most ``budget`` may be opened. The objective is the number of households served.

Two solvers share one problem shape, modelled on spopt's ``locate`` (a problem built from a
sparse cost matrix, then solved):

- ``solve_exact``: the MILP, solved with HiGHS (``highspy``) from the greedy answer as a start,
  so it is never worse than greedy, with an honest status and MIP gap when a limit is hit
  (``_run_highs`` guards against a HiGHS 1.16 bug with such starts).
- ``solve_greedy``: add the site with the best gain (per cost under a budget) until nothing
  fits; fast enough for thousands of candidates, and every answer is feasible for the MILP.

We do not use spopt's MCLP itself: it has no facility capacity and no budget, and covers a
demand point wholly or not at all; its fixed ("predefined") facilities count towards ``p``.
Everything is numpy/scipy with no database.

MILP (x_p households on pair p, y_j = 1 opens candidate j; fixed facilities are constants):
maximise sum x_p subject to, per demand point, sum x_p <= demand_i; per facility whose capacity
can bind, sum x_p <= capacity_j (* y_j); per pair of a candidate whose capacity cannot bind,
x_p <= min(demand_i, capacity_j) y_j (the strong MCLP link); sum y_j <= max_new and
sum cost_j y_j <= budget. ``_pair_rows`` says why the pair link is left out where capacity binds.

Treatment pool (optional ``treatment``): facilities that serve households may share the plants
that treat what they collect (desludging depots bring their sludge to an IPLT). Each facility
adds ``treatment_j`` households of treatment capacity to one pool (0 for a depot, an IPLT's
capacity for an IPLT), and all households served together stay within the pool of the open
facilities: sum x_p <= sum treatment_j (* y_j). Without it a plan could count households whose
sludge no plant can take.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

TOL = 1e-9  # relative slack on the budget, so float sums of costs do not lock out a site
MIN_SERVED = 1e-6  # households: a new site adding less (float or solver noise) is not opened
Block = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # rows from 0, cols, values, upper
Point = tuple[np.ndarray, np.ndarray]  # a feasible point of the MILP: (open, assigned)


@dataclass(frozen=True)
class SitingProblem:
    """Demand points, facilities (fixed + candidates) and the pairs within the travel-time
    threshold. Pairs are the sparse cost matrix: only reachable (facility, demand) pairs exist,
    which keeps the models linear in the pairs rather than in demand x facilities."""

    demand: np.ndarray  # (n,) float >= 0: households at each demand point
    pair_facility: np.ndarray  # (m,) int: facility index 0..F-1 of each reachable pair
    pair_demand: np.ndarray  # (m,) int: demand index 0..n-1
    pair_minutes: np.ndarray  # (m,) float: travel minutes (only pairs within the threshold)
    capacity: np.ndarray  # (F,) float households per facility; np.inf = no limit
    cost: np.ndarray  # (F,) float capex of opening; ignored for fixed
    fixed: np.ndarray  # (F,) bool: existing/pilot facilities, always open, never dropped
    max_new: int | None = None  # at most this many new (non-fixed) facilities
    budget: float | None = None  # total cost of new facilities <= budget
    treatment: np.ndarray | None = None  # (F,) households of treatment each adds to the pool; None: no pool

    def __post_init__(self) -> None:
        for name, dtype in (("demand", float), ("pair_facility", np.int64),
                            ("pair_demand", np.int64), ("pair_minutes", float),
                            ("capacity", float), ("cost", float), ("fixed", bool)):
            object.__setattr__(self, name, _as_1d(getattr(self, name), dtype, name))
        if self.treatment is not None:
            object.__setattr__(self, "treatment", _as_1d(self.treatment, float, "treatment"))
        _check_sizes(self)
        _check_values(self)
        _check_limits(self)

    @property
    def n_demand(self) -> int:
        return len(self.demand)

    @property
    def n_facilities(self) -> int:
        return len(self.capacity)

    def pool(self, open_: np.ndarray) -> float:
        """Households the ``open_`` facilities can treat together (inf: no pool)."""
        if self.treatment is None:
            return np.inf
        return float(self.treatment[open_].sum())

    @classmethod
    def from_pairs(cls, facility: ArrayLike, demand_index: ArrayLike, minutes: ArrayLike, *,
                   demand: ArrayLike, capacity: ArrayLike, cost: ArrayLike, fixed: ArrayLike,
                   threshold: float | None = None, max_new: int | None = None,
                   budget: float | None = None, treatment: ArrayLike | None = None) -> SitingProblem:
        """A problem from reach pairs (e.g. a network or buffer step); pairs beyond ``threshold``
        (inclusive, as in spopt) are dropped when it is given."""
        facility, demand_index = np.asarray(facility), np.asarray(demand_index)
        minutes = np.asarray(minutes, dtype=float)
        if threshold is not None:
            keep = minutes <= threshold
            facility, demand_index, minutes = facility[keep], demand_index[keep], minutes[keep]
        return cls(demand=demand, pair_facility=facility, pair_demand=demand_index,
                   pair_minutes=minutes, capacity=capacity, cost=cost, fixed=fixed,
                   max_new=max_new, budget=budget, treatment=treatment)

    @classmethod
    def from_cost_matrix(cls, cost_matrix: ArrayLike, threshold: float, *, demand: ArrayLike,
                         capacity: ArrayLike, cost: ArrayLike, fixed: ArrayLike,
                         max_new: int | None = None, budget: float | None = None
                         ) -> SitingProblem:
        """A problem from a dense (n demand x F facility) minutes matrix, np.inf = unreachable,
        the shape spopt's ``from_cost_matrix`` takes."""
        matrix = np.asarray(cost_matrix, dtype=float)
        if matrix.ndim != 2:
            raise ValueError(f"cost_matrix must be 2-D (demand x facility), got {matrix.shape}")
        if np.isnan(matrix).any() or (matrix < 0).any():
            raise ValueError("cost_matrix must be >= 0 minutes (np.inf = unreachable), no NaN")
        demand_index, facility = np.nonzero(np.isfinite(matrix))
        return cls.from_pairs(facility, demand_index, matrix[demand_index, facility],
                              demand=demand, capacity=capacity, cost=cost, fixed=fixed,
                              threshold=threshold, max_new=max_new, budget=budget)


def _as_1d(values: ArrayLike, dtype: type, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if dtype is np.int64 and len(array) and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer indices, got {array.dtype}")
    if dtype is bool and len(array) and array.dtype != bool:
        raise ValueError(f"{name} must be boolean, got {array.dtype}")
    return array.astype(dtype)


def _check_sizes(problem: SitingProblem) -> None:
    m, n, f = len(problem.pair_facility), problem.n_demand, problem.n_facilities
    for name in ("pair_demand", "pair_minutes"):
        if len(getattr(problem, name)) != m:
            raise ValueError(f"{name} has {len(getattr(problem, name))} pairs, "
                             f"pair_facility has {m}")
    for name in ("cost", "fixed", "treatment"):
        if getattr(problem, name) is not None and len(getattr(problem, name)) != f:
            raise ValueError(f"{name} has {len(getattr(problem, name))} facilities, "
                             f"capacity has {f}")
    if m and not (0 <= problem.pair_facility.min() and problem.pair_facility.max() < f):
        raise ValueError(f"pair_facility must be in 0..{f - 1}")
    if m and not (0 <= problem.pair_demand.min() and problem.pair_demand.max() < n):
        raise ValueError(f"pair_demand must be in 0..{n - 1}")
    if len(np.unique(problem.pair_facility * n + problem.pair_demand)) != m:
        raise ValueError("duplicate (facility, demand) pairs")


def _check_values(problem: SitingProblem) -> None:
    if not (np.isfinite(problem.demand).all() and (problem.demand >= 0).all()):
        raise ValueError("demand must be finite and >= 0")
    if not (np.isfinite(problem.pair_minutes).all() and (problem.pair_minutes >= 0).all()):
        raise ValueError("pair_minutes must be finite and >= 0")
    if np.isnan(problem.capacity).any() or (problem.capacity < 0).any():
        raise ValueError("capacity must be >= 0 (np.inf = no limit)")
    if not (np.isfinite(problem.cost).all() and (problem.cost >= 0).all()):
        raise ValueError("cost must be finite and >= 0")
    if problem.treatment is not None and (np.isnan(problem.treatment).any() or (problem.treatment < 0).any()):
        raise ValueError("treatment must be >= 0 (np.inf = no limit)")


def _check_limits(problem: SitingProblem) -> None:
    if problem.max_new is None and problem.budget is None:
        raise ValueError("give max_new or budget (or both): otherwise every site opens")
    if problem.max_new is not None and (int(problem.max_new) != problem.max_new
                                        or problem.max_new < 0):
        raise ValueError(f"max_new must be an integer >= 0, got {problem.max_new}")
    if problem.budget is not None and not (np.isfinite(problem.budget) and problem.budget >= 0):
        raise ValueError(f"budget must be finite and >= 0, got {problem.budget}")


@dataclass
class SitingSolution:
    """Open facilities and the households assigned on each pair (a feasible flow)."""

    method: str  # "exact" | "greedy"
    open: np.ndarray  # (F,) bool: fixed + chosen
    chosen: np.ndarray  # indices of the newly opened facilities (greedy: in the order picked)
    covered: float  # households covered (assigned) in total
    baseline: float  # households the fixed facilities alone cover (same rule as the method)
    assigned: np.ndarray  # (m,) households assigned on each pair (flow), respects capacity
    new_cost: float
    seconds: float
    status: str  # HiGHS model status text, or "greedy"
    mip_gap: float | None  # relative gap reported by HiGHS (exact), None for greedy

    @property
    def newly_covered(self) -> float:
        """Households the new sites add over the fixed facilities alone."""
        return self.covered - self.baseline

    def served_by_facility(self, problem: SitingProblem) -> np.ndarray:
        """(F,) households assigned to each facility."""
        return np.bincount(problem.pair_facility, weights=self.assigned,
                           minlength=problem.n_facilities)


def _solution(problem: SitingProblem, *, method: str, open_: np.ndarray, chosen: np.ndarray,
              assigned: np.ndarray, baseline: float, started: float, status: str,
              mip_gap: float | None) -> SitingSolution:
    chosen = np.asarray(chosen, dtype=np.int64)
    return SitingSolution(method=method, open=open_, chosen=chosen, covered=float(assigned.sum()),
                          baseline=baseline, assigned=assigned,
                          new_cost=float(problem.cost[chosen].sum()),
                          seconds=time.perf_counter() - started, status=status, mip_gap=mip_gap)


# --- greedy ---------------------------------------------------------------------------------


def _by_facility(problem: SitingProblem) -> tuple[np.ndarray, np.ndarray]:
    """Pair indices grouped by facility, nearest first (ties: lower demand index), and the start
    of each facility's group."""
    order = np.lexsort((problem.pair_demand, problem.pair_minutes, problem.pair_facility))
    starts = np.searchsorted(problem.pair_facility[order], np.arange(problem.n_facilities + 1))
    return order, starts


def _fill(pairs: np.ndarray, problem: SitingProblem, residual: np.ndarray, capacity: float,
          assigned: np.ndarray) -> float:
    """One facility takes residual demand on ``pairs`` (nearest first) up to ``capacity`` more
    households; returns how many it took."""
    if capacity <= 0:
        return 0.0
    points = problem.pair_demand[pairs]
    want = residual[points]
    before = np.cumsum(want) - want
    take = np.clip(capacity - before, 0.0, want)
    assigned[pairs] += take
    residual[points] = want - take
    return float(take.sum())


def _pick(gain: np.ndarray, problem: SitingProblem, open_: np.ndarray, left: float | None
          ) -> int | None:
    """The next site: best gain (per cost under a budget; ties: larger gain, lower index)."""
    ok = ~open_ & (gain > MIN_SERVED)
    if left is not None:
        ok &= problem.cost <= left
    sites = np.flatnonzero(ok)
    if not len(sites):
        return None
    if left is None:
        return int(sites[np.argmax(gain[sites])])
    cost = problem.cost[sites]
    ratio = np.divide(gain[sites], cost, out=np.full(len(sites), np.inf), where=cost > 0)
    return int(sites[np.lexsort((sites, -gain[sites], -ratio))[0]])


def _pooled_gain(problem: SitingProblem, reach: sp.csr_matrix, residual: np.ndarray, spare: np.ndarray,
                 open_: np.ndarray, own: np.ndarray, left_to_treat: float) -> np.ndarray:
    """What opening each site adds under a treatment pool: the open sites could still serve
    ``blocked`` households if the pool allowed; a site adds the unserved households only it
    reaches, and on households the open sites also reach only what their spare capacity cannot
    take; its treatment lifts the pool. Counting each household once keeps a site that reaches
    the open sites' households from looking better than one that reaches new ones."""
    reached = np.zeros(problem.n_demand, bool)
    reached[problem.pair_demand[open_[problem.pair_facility]]] = True
    within_open = float(residual[reached].sum())
    blocked = min(float(np.minimum(spare, reach @ residual)[open_].sum()), within_open)
    only_here = np.minimum(own, reach @ np.where(reached, 0.0, residual))
    shared = np.minimum(own - only_here, reach @ np.where(reached, residual, 0.0))
    servable = blocked + only_here + np.minimum(shared, max(0.0, within_open - blocked))
    return np.minimum(left_to_treat + problem.treatment, servable) - min(left_to_treat, blocked)


def solve_greedy(problem: SitingProblem) -> SitingSolution:
    """Fixed facilities first (index order, nearest first, up to capacity), then repeatedly open
    the affordable site whose capacity-limited reach of unserved households is largest (per cost
    under a budget), until no site adds households, ``max_new`` is reached or nothing fits.
    With a treatment pool, what the open facilities serve stays within it; a site's gain is
    what it serves itself plus what its treatment lets the open facilities serve."""
    started = time.perf_counter()
    order, starts = _by_facility(problem)
    residual = problem.demand.copy()
    assigned = np.zeros(len(problem.pair_facility))
    spare = problem.capacity.copy()
    open_, chosen = problem.fixed.copy(), []
    left_to_treat = problem.pool(open_)

    def refill(sites) -> None:
        nonlocal left_to_treat
        for j in sites:
            took = _fill(order[starts[j]:starts[j + 1]], problem, residual, min(spare[j], left_to_treat),
                         assigned)
            spare[j] -= took
            left_to_treat -= took

    refill(np.flatnonzero(problem.fixed))
    baseline = float(assigned.sum())
    reach = sp.csr_matrix((np.ones(len(order)), (problem.pair_facility, problem.pair_demand)),
                          shape=(problem.n_facilities, problem.n_demand))
    left = None if problem.budget is None else problem.budget * (1 + TOL)
    while problem.max_new is None or len(chosen) < problem.max_new:
        reachable = reach @ residual
        gain = np.minimum(problem.capacity, reachable)
        if problem.treatment is not None:
            gain = _pooled_gain(problem, reach, residual, spare, open_, gain, left_to_treat)
        j = _pick(gain, problem, open_, left)
        if j is None:
            break
        open_[j] = True
        chosen.append(j)
        if problem.treatment is not None:
            left_to_treat += problem.treatment[j]
        refill([j, *np.flatnonzero(problem.fixed), *chosen[:-1]])
        left = None if left is None else left - problem.cost[j]
    return _solution(problem, method="greedy", open_=open_, chosen=chosen, assigned=assigned,
                     baseline=baseline, started=started, status="greedy", mip_gap=None)


# --- exact (HiGHS MILP) ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    """Column layout: x_p for every pair, then y_k for every candidate (non-fixed) facility."""

    candidates: np.ndarray  # facility index of each y column
    y_of: np.ndarray  # (F,) column of each facility's y, -1 for fixed
    n_pairs: int

    @classmethod
    def of(cls, problem: SitingProblem) -> _Columns:
        candidates = np.flatnonzero(~problem.fixed)
        y_of = np.full(problem.n_facilities, -1, dtype=np.int64)
        y_of[candidates] = len(problem.pair_facility) + np.arange(len(candidates))
        return cls(candidates, y_of, len(problem.pair_facility))

    @property
    def count(self) -> int:
        return self.n_pairs + len(self.candidates)


def _rows(problem: SitingProblem, cols: _Columns) -> tuple[sp.csr_matrix, np.ndarray]:
    """All ``row <= upper`` constraints as one CSR matrix."""
    bound = _pair_bound(problem)
    binds = problem.capacity < np.bincount(problem.pair_facility, bound, problem.n_facilities)
    blocks = [_demand_rows(problem), _capacity_rows(problem, cols, binds),
              _pair_rows(problem, cols, bound, binds)]
    y_cols, zero = cols.y_of[cols.candidates], np.zeros(len(cols.candidates), dtype=np.int64)
    if problem.max_new is not None:
        blocks.append((zero, y_cols, np.ones(len(y_cols)), np.array([problem.max_new], float)))
    if problem.budget is not None:
        blocks.append((zero, y_cols, problem.cost[cols.candidates],
                       np.array([problem.budget], float)))
    if problem.treatment is not None and np.isfinite(problem.pool(problem.fixed)):
        blocks.append(_treatment_row(problem, cols))
    return _stack(blocks, cols.count)


def _treatment_row(problem: SitingProblem, cols: _Columns) -> Block:
    """sum of every x_p - sum treatment_j y_j (candidates) <= treatment of the fixed facilities.
    A candidate without a treatment limit (inf) lifts the pool by all the demand, which is as
    good as no limit."""
    m = cols.n_pairs
    adds = np.minimum(problem.treatment[cols.candidates], problem.demand.sum())
    return (np.zeros(m + len(cols.candidates), dtype=np.int64), np.r_[np.arange(m), cols.y_of[cols.candidates]],
            np.r_[np.ones(m), -adds], np.array([problem.pool(problem.fixed)]))


def _demand_rows(problem: SitingProblem) -> Block:
    """sum of x_p over the pairs of demand point i <= demand_i."""
    m = len(problem.pair_demand)
    return problem.pair_demand, np.arange(m), np.ones(m), problem.demand


def _capacity_rows(problem: SitingProblem, cols: _Columns, binds: np.ndarray) -> Block:
    """sum of x_p over the pairs of facility j <= capacity_j (* y_j for a candidate), only where
    the capacity can bind (below what the facility's pairs can carry)."""
    row_of = np.cumsum(binds) - 1
    pairs = np.flatnonzero(binds[problem.pair_facility])
    sites = cols.candidates[binds[cols.candidates]]
    return (np.r_[row_of[problem.pair_facility[pairs]], row_of[sites]],
            np.r_[pairs, cols.y_of[sites]], np.r_[np.ones(len(pairs)), -problem.capacity[sites]],
            np.where(problem.fixed, problem.capacity, 0.0)[binds])


def _pair_rows(problem: SitingProblem, cols: _Columns, bound: np.ndarray, binds: np.ndarray
               ) -> Block:
    """x_p <= u_p y_j for the pairs of candidates whose capacity cannot bind (the strong MCLP
    link; their capacity row is then redundant). Where the capacity binds, its row is the link
    and these rows are left out: with them HiGHS's LP took 10-30x longer on 1,000 x 200 cases
    (often past 30 s) for no better bound when capacity is what limits coverage."""
    pairs = np.flatnonzero(~problem.fixed[problem.pair_facility] & ~binds[problem.pair_facility])
    rows = np.arange(len(pairs))
    return (np.r_[rows, rows], np.r_[pairs, cols.y_of[problem.pair_facility[pairs]]],
            np.r_[np.ones(len(pairs)), -bound[pairs]], np.zeros(len(pairs)))


def _stack(blocks: list[Block], n_cols: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Stack (row, col, value, upper) blocks, each numbering its rows from 0."""
    offsets = np.cumsum([0] + [len(upper) for *_, upper in blocks])
    rows = np.concatenate([r + o for (r, *_), o in zip(blocks, offsets)])
    cols = np.concatenate([c for _, c, _, _ in blocks])
    vals = np.concatenate([v for _, _, v, _ in blocks])
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(offsets[-1], n_cols))
    return matrix, np.concatenate([upper for *_, upper in blocks])


def _pair_bound(problem: SitingProblem) -> np.ndarray:
    """(m,) most a pair can carry: its demand point's households, at most its capacity."""
    return np.minimum(problem.demand[problem.pair_demand],
                      problem.capacity[problem.pair_facility])


def _model(problem: SitingProblem, cols: _Columns) -> highspy.HighsLp:
    """The MILP: maximise the households assigned; y binary, x_p in [0, u_p]."""
    matrix, upper = _rows(problem, cols)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = cols.count, matrix.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.r_[np.ones(cols.n_pairs), np.zeros(len(cols.candidates))]
    lp.col_lower_ = np.zeros(cols.count)
    lp.col_upper_ = np.r_[_pair_bound(problem), np.ones(len(cols.candidates))]
    lp.row_lower_ = np.full(matrix.shape[0], -highspy.kHighsInf)
    lp.row_upper_ = upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = cols.count, matrix.shape[0]
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = ([highspy.HighsVarType.kContinuous] * cols.n_pairs
                       + [highspy.HighsVarType.kInteger] * len(cols.candidates))
    return lp


def _run_highs(problem: SitingProblem, *, time_limit: float, mip_rel_gap: float, start: Point
               ) -> tuple[np.ndarray, np.ndarray, str, float]:
    """Solve the MILP from a feasible start: (open, assigned, HiGHS status text, its MIP gap).

    With a start, HiGHS 1.16 presolve sometimes maps it to a point that is not feasible in the
    original model and keeps that as its incumbent: it then reports an objective above what it
    returns (and above the optimum), and may return the start although it is not optimal. Such
    a run is detected and repeated without the start in the time that is left."""
    cols = _Columns.of(problem)
    deadline = time.perf_counter() + time_limit
    highs = _highs(problem, cols, time_limit=time_limit, mip_rel_gap=mip_rel_gap, start=start)
    if not _consistent(highs, cols):
        highs = _highs(problem, cols, time_limit=max(deadline - time.perf_counter(), 0.0),
                       mip_rel_gap=mip_rel_gap, start=None)
    status = highs.modelStatusToString(highs.getModelStatus())
    gap = highs.getInfo().mip_gap
    if not len(cols.candidates) and status in ("Optimal", "Empty"):
        gap = 0.0  # an LP: HiGHS reports no MIP gap (inf) but its optimum has none
    solution = highs.getSolution()
    if not solution.value_valid:  # stopped before finding any point: all closed is feasible
        return problem.fixed.copy(), np.zeros(cols.n_pairs), status, gap
    values = np.asarray(solution.col_value, dtype=float)
    open_ = problem.fixed.copy()
    open_[cols.candidates] = values[cols.n_pairs:] > 0.5
    return open_, _repair(problem, open_, values[:cols.n_pairs]), status, gap


def _highs(problem: SitingProblem, cols: _Columns, *, time_limit: float, mip_rel_gap: float,
           start: Point | None) -> highspy.Highs:
    """One HiGHS run of the model, given the start as a MIP solution (flow and sites)."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    highs.passModel(_model(problem, cols))
    if start is not None:
        values = np.r_[start[1], start[0][cols.candidates].astype(float)]
        highs.setSolution(cols.count, np.arange(cols.count, dtype=np.int32), values)
    highs.run()
    return highs


def _consistent(highs: highspy.Highs, cols: _Columns) -> bool:
    """Whether HiGHS's reported objective is that of the point it returns."""
    solution = highs.getSolution()
    if not solution.value_valid:
        return True
    found = float(np.sum(np.asarray(solution.col_value)[:cols.n_pairs]))
    return abs(found - highs.getInfo().objective_function_value) <= 1e-6 * max(1.0, found)


def _repair(problem: SitingProblem, open_: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Make the solver's flow exactly feasible (it is so only within tolerances): no flow to
    closed sites, none negative, scaled down where a demand or capacity is overshot. New sites
    left serving (next to) nobody are closed: a site that adds no households is not proposed."""
    pf, pd = problem.pair_facility, problem.pair_demand
    flow = np.where(open_[pf], np.clip(flow, 0.0, None), 0.0)
    flow *= _shrink(np.bincount(pd, flow, problem.n_demand), problem.demand)[pd]
    flow *= _shrink(np.bincount(pf, flow, problem.n_facilities), problem.capacity)[pf]
    flow *= _shrink(np.array([flow.sum()]), np.array([problem.pool(open_)]))[0]
    idle = open_ & ~problem.fixed & (np.bincount(pf, flow, problem.n_facilities) < MIN_SERVED)
    for j in np.flatnonzero(idle):  # a plant that serves nobody itself may still treat for the others
        without = open_.copy()
        without[j] = False
        if flow.sum() <= problem.pool(without):
            open_[j] = False
            flow[pf == j] = 0.0
    return flow


def _shrink(total: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Per-row factor <= 1 bringing ``total`` within ``limit``."""
    factor = np.ones(len(total))
    over = total > limit
    factor[over] = limit[over] / total[over]
    return factor


def _check_start(problem: SitingProblem, start: SitingSolution) -> None:
    """A warm start must be a feasible point of this problem's model."""
    pf, flow, open_ = problem.pair_facility, start.assigned, start.open
    if open_.shape != problem.fixed.shape or flow.shape != pf.shape:
        raise ValueError("warm_start does not match the problem's facilities or pairs")
    new = open_ & ~problem.fixed
    broken = {
        "a fixed facility is closed": (problem.fixed & ~open_).any(),
        "households go to a closed site": (flow[~open_[pf]] > 0).any(),
        "negative flow": (flow < 0).any(),
        "over capacity": _over(start.served_by_facility(problem), problem.capacity),
        "over demand": _over(np.bincount(problem.pair_demand, flow, problem.n_demand),
                             problem.demand),
        "over the treatment pool": _over(flow.sum(), problem.pool(open_)),
        "too many new sites": problem.max_new is not None and new.sum() > problem.max_new,
        "over budget": problem.budget is not None and _over(problem.cost[new].sum(),
                                                           problem.budget),
    }
    if any(broken.values()):
        raise ValueError("warm_start is not feasible for this problem: "
                         + ", ".join(name for name, bad in broken.items() if bad))


def _over(total: np.ndarray | float, limit: np.ndarray | float) -> bool:
    return bool(np.any(total > limit * (1 + TOL) + TOL))


def solve_exact(problem: SitingProblem, *, time_limit: float = 60.0, mip_rel_gap: float = 1e-4,
                warm_start: SitingSolution | None = None) -> SitingSolution:
    """Capacitated maximal covering MILP with fixed facilities, solved by HiGHS.

    ``baseline`` is the same model with no new site, started from the fixed facilities' part of
    the start. The main solve starts from ``warm_start`` (default: the greedy answer), or from
    the baseline if that covers more, and the better of start and HiGHS's incumbent is returned,
    so the answer never covers less than greedy even when the time runs out. ``time_limit``
    bounds both HiGHS runs together; ``status`` and ``mip_gap`` are the last run's, as reported
    by HiGHS (0 for a solved LP, i.e. when no new site is allowed)."""
    started = time.perf_counter()
    start = solve_greedy(problem) if warm_start is None else warm_start
    _check_start(problem, start)
    alone = np.where(problem.fixed[problem.pair_facility], start.assigned, 0.0)
    base = _run_highs(replace(problem, max_new=0, budget=None), time_limit=time_limit,
                      mip_rel_gap=mip_rel_gap, start=(problem.fixed, alone))
    open_, flow, status, gap = base
    begin = max((start.open, start.assigned), base[:2], key=lambda point: point[1].sum())
    if problem.max_new != 0 and not problem.fixed.all():  # else the baseline is the answer
        left = max(time_limit - (time.perf_counter() - started), 0.0)
        open_, flow, status, gap = _run_highs(problem, time_limit=left,
                                              mip_rel_gap=mip_rel_gap, start=begin)
    if begin[1].sum() > flow.sum():
        open_, flow = begin[0].copy(), begin[1].copy()
    return _solution(problem, method="exact", open_=open_,
                     chosen=np.flatnonzero(open_ & ~problem.fixed), assigned=flow,
                     baseline=float(base[1].sum()), started=started, status=status,
                     mip_gap=gap)


def optimality_gap(exact: SitingSolution, greedy: SitingSolution) -> float:
    """Share of the exact coverage that greedy misses: (exact - greedy) / exact, 0 if both 0."""
    if exact.covered == 0:
        return 0.0
    return (exact.covered - greedy.covered) / exact.covered
