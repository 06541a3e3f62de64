"""Who is served by which facility once the sites are chosen: the most households the open
facilities can serve and, among the assignments that serve that many, the one with the fewest
household-minutes of travel.

The covering model only counts households; many assignments reach the same count, and a solver
returns any of them, so the villages a facility serves (and so their phase and cost share) would
be arbitrary (a treatment pool, ``siting`` module, bounds them all together). Two LPs (HiGHS through scipy's ``linprog``) fix that: the first maximises the
households served within the demand and capacity limits, the second minimises minutes x
households while serving at least that many. ``floor`` keeps each demand point's households of an
earlier phase served in a later one, so no village loses service when the plan grows.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from gis_service.analysis.siting import SitingProblem

SLACK = 1e-6  # households: what an LP may serve below a bound it must meet (solver tolerance)


def assign(problem: SitingProblem, open_: np.ndarray, *, floor: np.ndarray | None = None) -> np.ndarray:
    """Households per pair (aligned with the problem's pairs) for the ``open_`` facilities: the
    most served, nearest first, at least ``floor`` households at each demand point."""
    live = np.flatnonzero(open_[problem.pair_facility])
    out = np.zeros(len(problem.pair_facility))
    if not len(live):
        return out
    pf, pd = problem.pair_facility[live], problem.pair_demand[live]
    n = len(live)
    limited = np.isfinite(problem.capacity[pf])
    facilities, cap_row = np.unique(pf[limited], return_inverse=True)
    rows = [sp.csr_matrix((np.ones(n), (pd, np.arange(n))), shape=(problem.n_demand, n)),
            sp.csr_matrix((np.ones(limited.sum()), (cap_row, np.flatnonzero(limited))),
                          shape=(len(facilities), n))]
    upper = [problem.demand, problem.capacity[facilities]]
    if np.isfinite(problem.pool(open_)):  # what the open plants can treat bounds what is served
        rows.append(sp.csr_matrix(np.ones((1, n))))
        upper.append(np.array([problem.pool(open_)]))
    if floor is not None and (floor > 0).any():
        kept = np.flatnonzero(floor > 0)
        rows.append(-rows[0][kept])
        upper.append(-np.maximum(floor[kept] - SLACK, 0.0))
    bound = np.column_stack([np.zeros(n), np.minimum(problem.demand[pd], problem.capacity[pf])])
    a_ub, b_ub = sp.vstack(rows).tocsr(), np.concatenate(upper)
    most = linprog(-np.ones(n), A_ub=a_ub, b_ub=b_ub, bounds=bound, method="highs")
    if most.status != 0:
        raise RuntimeError(f"assignment LP failed: {most.message}")
    served = -most.fun
    nearest = linprog(problem.pair_minutes[live], A_ub=sp.vstack([a_ub, sp.csr_matrix(-np.ones((1, n)))]),
                      b_ub=np.r_[b_ub, -(served - SLACK)], bounds=bound, method="highs")
    out[live] = np.clip((nearest if nearest.status == 0 else most).x, bound[:, 0], bound[:, 1])
    return out
