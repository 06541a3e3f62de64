"""Siting a plan's new facilities step by step: the problem of each step (candidates, travel
times, capacities), its exact and greedy solutions, and the facilities of the final plan."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis_service.analysis.parameters import (
    SERVICE_OF_TYPE,
    value,
)
from gis_service.analysis.scaleup import finance
from gis_service.analysis.scaleup.assignment import assign
from gis_service.analysis.scaleup.candidates import candidates
from gis_service.analysis.scaleup.cells import Cells
from gis_service.analysis.scaleup.reach import Reacher
from gis_service.analysis.scaleup.services import (
    DEFAULT_CAPACITY,
    FACILITY_COLUMNS,
    Service,
    households_of,
)
from gis_service.analysis.scaleup.spec import SitingStep
from gis_service.analysis.scaleup.treatment import enlargements, treatment_households
from gis_service.analysis.siting import (
    SitingProblem,
    SitingSolution,
    optimality_gap,
    solve_exact,
    solve_greedy,
)


def step_problem(service: Service, fac: pd.DataFrame, demand: Cells, reacher: Reacher, cost: np.ndarray,
             fixed: np.ndarray, *, max_new: int | None, budget: float | None, params: dict) -> SitingProblem:
    """The siting problem of a service's facilities; desludging shares what its IPLTs treat
    (``treatment`` module)."""
    pairs = reach_pairs(fac, demand, reacher)
    pool = treatment_households(fac, params) if service.name == "lltt" else None
    return SitingProblem.from_pairs(pairs[0], pairs[1], pairs[2], demand=service.demand,
                                    capacity=fac["capacity_households"].to_numpy(float), cost=cost,
                                    fixed=fixed, max_new=max_new, budget=budget, treatment=pool)


def reach_pairs(fac: pd.DataFrame, demand: Cells, reacher: Reacher):
    """Reach pairs of every facility of a frame (types may differ: each type has its limit)."""
    parts = []
    for kind, idx in fac.groupby("type").indices.items():
        p = reacher.pairs(kind, fac[["x", "y"]].to_numpy()[idx], list(fac["modes"].iloc[idx]), demand.xy)
        parts.append((idx[p.facility], p.cell, p.cost))
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    f, c, m = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((f, c))
    return f[order], c[order], m[order]


def site_step(service: Service, siting: SitingStep, index: int, *, demand: Cells, reacher: Reacher,
          region, stored: pd.DataFrame, settlements, params: dict, metric: str, time_limit: float) -> None:
    """One siting step: candidates, the problem with the open facilities fixed, the solve(s)."""
    modes = frozenset(siting.service_modes)
    on_network = None if SERVICE_OF_TYPE[siting.type] == "offsite" else \
        (lambda xy: reacher.on_network(xy, modes))
    cand, removed = candidates(siting, region=region, stored=stored, settlements=settlements, params=params,
                               metric_crs=metric, on_network=on_network,
                               nodes_xy=reacher.nodes(modes) if "nodes" in siting.candidates else None)
    if "enlarge" in siting.candidates:  # existing plants: their own site, no distance or snap rule
        cand = pd.concat([cand, enlargements(service, siting, params)], ignore_index=True)
    default_value, default_unit = DEFAULT_CAPACITY[siting.type]
    capacity = np.array(cand["capacity"], dtype=float)  # copies: pandas may hand out read-only views
    unit = np.array(cand["capacity_unit"], dtype=object)
    if siting.capacity is not None:
        capacity, unit = np.full(len(cand), siting.capacity), np.full(len(cand), siting.capacity_unit)
    missing = np.isnan(capacity) | pd.isna(unit)
    capacity[missing] = value(params, default_value)
    unit[missing] = default_unit
    new = pd.DataFrame({"facility_id": cand["facility_id"], "name": cand["name"], "type": siting.type,
                        "role": "new", "origin": cand["origin"], "village_code": cand["village_code"],
                        "x": cand["x"], "y": cand["y"],
                        "capacity": capacity, "capacity_unit": unit,
                        "capacity_households": [households_of(c, u, params, siting.type, n)
                                                for c, u, n in zip(capacity, unit, cand["name"])],
                        "modes": [modes] * len(cand), "institution_type": None, "pick_order": None,
                        "step": index})
    record = {"step": index, "type": siting.type, "candidates": int(len(cand)), "removed": removed,
              "max_new": siting.max_new, "budget_idr": siting.budget_idr, "model": siting.model}
    service.steps.append(record)
    if new.empty:
        record["chosen"] = 0
        return
    fac = pd.concat([service.fac, new[FACILITY_COLUMNS]], ignore_index=True)
    priced = finance.facility_costs(fac.assign(served_households=0.0, mean_minutes=0.0), params)
    fixed = np.arange(len(fac)) < len(service.fac)  # everything open before this step stays open
    problem = step_problem(service, fac, demand, reacher, priced["capex_idr"].to_numpy(), fixed,
                       max_new=siting.max_new, budget=siting.budget_idr, params=params)
    greedy = solve_greedy(problem) if siting.model in ("greedy", "both") else None
    exact = solve_exact(problem, time_limit=time_limit, warm_start=greedy) \
        if siting.model in ("exact", "both") else None
    best = exact if exact is not None else greedy
    for label, sol in (("greedy", greedy), ("exact", exact)):
        if sol is not None:
            record[label] = {"covered": sol.covered, "newly_covered": sol.newly_covered,
                             "chosen": [str(fac["name"].iat[j]) for j in sol.chosen],
                             "cost_idr": sol.new_cost, "seconds": round(sol.seconds, 3), "status": sol.status,
                             "mip_gap": sol.mip_gap}
    if greedy is not None and exact is not None:
        record["optimality_gap"] = optimality_gap(exact, greedy)
    record["baseline"] = best.baseline
    record["used"] = best.method
    record["chosen"] = int(len(best.chosen))
    keep = np.concatenate([np.arange(len(service.fac)), np.asarray(best.chosen, dtype=np.int64)])
    picked = fac.iloc[keep].reset_index(drop=True)
    start = int(service.fac["pick_order"].max()) if service.fac["pick_order"].notna().any() else 0
    order = np.array(picked["pick_order"], dtype=object)
    order[len(service.fac):] = np.arange(start + 1, start + 1 + len(best.chosen))
    picked["pick_order"] = order
    service.fac = picked[FACILITY_COLUMNS]


def final_assignment(service: Service, demand: Cells, reacher: Reacher, params: dict) -> None:
    """The assignment of the demand to all the plan's facilities, and to the fixed ones alone."""
    if service.fac.empty:
        return
    fac = service.fac
    service.problem = step_problem(service, fac, demand, reacher, np.zeros(len(fac)), np.ones(len(fac), bool),
                               max_new=0, budget=None, params=params)
    everything, fixed = np.ones(len(fac), bool), fac["role"].eq("fixed").to_numpy()
    service.final = as_solution(everything, assign(service.problem, everything))
    service.now = as_solution(fixed, assign(service.problem, fixed))


def as_solution(open_: np.ndarray, flow: np.ndarray) -> SitingSolution:
    """An assignment (``assignment`` module) of the ``open_`` facilities, as a solution."""
    return SitingSolution(method="assignment", open=open_.copy(), chosen=np.empty(0, np.int64),
                          covered=float(flow.sum()), baseline=0.0, assigned=flow, new_cost=0.0, seconds=0.0,
                          status="Optimal", mip_gap=0.0)


def plan_facilities(services: dict[str, Service], params: dict) -> pd.DataFrame:
    parts = []
    for s in services.values():
        if s.fac.empty:
            continue
        f = s.fac.copy()
        f["service"] = s.name
        served = s.final.served_by_facility(s.problem) if s.final is not None else np.zeros(len(f))
        flow = s.final.assigned if s.final is not None else np.zeros(0)
        minutes = np.bincount(s.problem.pair_facility, weights=flow * s.problem.pair_minutes,
                              minlength=len(f)) if s.final is not None else np.zeros(len(f))
        f["served_households"] = served
        f["mean_minutes"] = np.where(served > 0, minutes / np.maximum(served, 1e-12), 0.0) \
            if s.name != "offsite" else 0.0
        parts.append(f)
    if not parts:
        return pd.DataFrame(columns=[*FACILITY_COLUMNS, "service", "served_households", "mean_minutes"])
    fac = pd.concat(parts, ignore_index=True)
    fac["capacity_households"] = fac["capacity_households"].replace(np.inf, np.nan)
    return finance.facility_costs(fac, params)


def cell_flow(service: Service, sol: SitingSolution | None, n: int) -> np.ndarray:
    if sol is None or service.problem is None:
        return np.zeros(n)
    return np.bincount(service.problem.pair_demand, weights=sol.assigned, minlength=n)
