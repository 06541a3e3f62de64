#!/usr/bin/env python3
"""Siting speed and quality (issue 5): the exact model (HiGHS) and the greedy expansion on the
cases the issue names, with network travel times from the coverage engine, and spopt's MCLP as
the baseline measured in the same run (on the uncapacitated variant, the model spopt has).

- district case: the generated demo region (scale 1, ~100 villages): households grouped into
  500 m cells (~1,000 demand points), ~200 candidate depots (settlements and a grid), the pilot
  IPLT and depot fixed, capacities in households from trucks and m3/day, 10 new at most;
- province case: the generated region at ``--scale`` (default 25: ~1 M households) with a
  synthetic road grid over its bounding box (``--grid-m``, default 500 m: ~300k edges, as in
  scripts/benchmark_coverage.py), households grouped into cells sized to give ~1,500 demand points,
  2,000 candidates at road nodes near settlements, 25 new at most.

Everything runs in memory (no database): the generator's frames, our network graph and reach.

    python scripts/benchmark_siting.py [--repeat 3] [--scale 25] [--skip-province]

Prints medians of ``--repeat`` runs and the ratios; it is a report, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from gis_service.analysis import network as net
from gis_service.analysis.parameters import capacity_households
from gis_service.analysis.scaleup.cells import cells
from gis_service.analysis.scaleup.reach import Reacher
from gis_service.analysis.siting import SitingProblem, optimality_gap, solve_exact, solve_greedy
from gis_service.demo.generator import generate_region
from gis_service.settings import get_settings

from bench_results import record  # scripts/bench_results.py, next to this script


def _params() -> dict:
    with open(get_settings().config_dir / "parameters" / "default.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["values"]


def _grid(bounds: tuple[float, float, float, float], spacing: float, crs: str) -> gpd.GeoDataFrame:
    """A road grid (class track) over ``bounds``, split at every crossing so that it connects."""
    x0, y0, x1, y1 = bounds
    xs, ys = np.arange(x0, x1 + spacing, spacing), np.arange(y0, y1 + spacing, spacing)
    gx, gy = np.meshgrid(xs, ys)
    horizontal = np.stack([np.column_stack([gx[:, :-1].ravel(), gy[:, :-1].ravel()]),
                           np.column_stack([gx[:, 1:].ravel(), gy[:, 1:].ravel()])], axis=1)
    vertical = np.stack([np.column_stack([gx[:-1].ravel(), gy[:-1].ravel()]),
                         np.column_stack([gx[1:].ravel(), gy[1:].ravel()])], axis=1)
    lines = shapely.linestrings(np.concatenate([horizontal, vertical]))
    return gpd.GeoDataFrame({"mode": ["road"] * len(lines), "class": "track", "oneway": False},
                            geometry=lines, crs=crs)


def _case(scale: float, *, target_points: int | None, n_candidates: int, max_new: int,
          grid_m: float | None = None, seed: int = 1):
    """(problem, timings, description) for the generated region at ``scale``."""
    settings = get_settings()
    metric = settings.region_config().metric_crs
    params = _params()
    t0 = time.perf_counter()
    region = generate_region(scale=scale)
    t_gen = time.perf_counter() - t0
    hh = region["households"].to_crs(metric)
    units = pd.DataFrame({"id": np.arange(len(hh)), "village_code": hh["village_code"].to_numpy(),
                          "rung": hh["ladder_rung"].fillna("unknown").to_numpy(),
                          "has_septic_tank": hh["has_septic_tank"].to_numpy(dtype=object),
                          "people": hh["members"].fillna(4).to_numpy(), "x": hh.geometry.x.to_numpy(),
                          "y": hh.geometry.y.to_numpy()})
    kelurahan = set(region["admin"].loc[region["admin"]["village_kind"].eq("kelurahan"), "code"])
    cell_m = 500.0
    demand = cells(units, kelurahan, params, cell_m=cell_m)
    while target_points and len(demand.frame) > 1.15 * target_points:
        cell_m *= 1.25
        demand = cells(units, kelurahan, params, cell_m=cell_m)
    edges = region["network"].to_crs(metric)
    if grid_m:
        edges = pd.concat([edges, _grid(tuple(edges.total_bounds), grid_m, metric)], ignore_index=True)
    edges["length_m"] = edges.length
    edges["speed_kmh"] = np.nan
    edges = gpd.GeoDataFrame(edges.reset_index(drop=True).assign(id=np.arange(len(edges))), crs=metric)
    reacher = Reacher(edges, net.NetworkParams.from_config(settings.network_config()), params)
    road = frozenset({"road"})
    t1 = time.perf_counter()
    graph = reacher.graph(road)
    rng = np.random.default_rng(seed)
    settle = region["settlements"].to_crs(metric).geometry.representative_point()
    settle_xy = np.column_stack([settle.x, settle.y])
    nodes = graph.node_xy
    near = _near(nodes, settle_xy, 3000.0)
    pool = np.vstack([settle_xy, nodes[near]])
    pick = rng.choice(len(pool), size=min(n_candidates, len(pool)), replace=False)
    fac = region["facilities"].to_crs(metric)
    fixed = fac[fac["status"].eq("pilot")]
    fixed_xy = np.column_stack([fixed.geometry.x, fixed.geometry.y])
    xy = np.vstack([fixed_xy, pool[pick]])
    cap = [capacity_households(c, u, params) for c, u in zip(fixed["capacity"], fixed["capacity_unit"])]
    cap += [capacity_households(1.0, "trucks", params)] * len(pick)
    pairs = reacher.pairs("desludging_depot", xy, [road] * len(xy), demand.xy)
    t_matrix = time.perf_counter() - t1
    need = (demand.frame["households"] - demand.frame["offsite"]).to_numpy(float)
    cost = np.r_[np.zeros(len(fixed_xy)), np.full(len(pick), 1.0)]
    problem = SitingProblem.from_pairs(pairs.facility, pairs.cell, pairs.cost, demand=need,
                                       capacity=np.array(cap, float), cost=cost,
                                       fixed=np.arange(len(xy)) < len(fixed_xy), max_new=max_new)
    info = {"scale": scale, "households": len(units), "demand_points": len(need), "cell_m": round(cell_m),
            "candidates": int(len(pick)), "fixed": int(len(fixed_xy)), "pairs": int(len(pairs.facility)),
            "edges": len(edges), "generate_s": round(t_gen, 2), "matrix_s": round(t_matrix, 2)}
    return problem, info


def _near(nodes: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    from scipy.spatial import cKDTree

    d, _ = cKDTree(points).query(nodes, distance_upper_bound=radius)
    return np.flatnonzero(np.isfinite(d))


def _median(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _spopt(problem: SitingProblem) -> tuple[float, float] | None:
    """spopt MCLP on the uncapacitated problem: (seconds, covered households)."""
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        return None
    n, f = problem.n_demand, problem.n_facilities
    matrix = np.full((n, f), np.inf)
    matrix[problem.pair_demand, problem.pair_facility] = problem.pair_minutes
    t = time.perf_counter()
    model = MCLP.from_cost_matrix(np.where(np.isfinite(matrix), matrix, 1e9), problem.demand,
                                  service_radius=float(problem.pair_minutes.max()),
                                  p_facilities=int(problem.fixed.sum()) + int(problem.max_new),
                                  predefined_facilities_arr=problem.fixed.astype(int))
    model.solve(pulp.HiGHS(msg=False))
    seconds = time.perf_counter() - t
    covered = float(sum(problem.demand[i] for i, fs in enumerate(model.cli2fac) if fs))
    return seconds, covered


def _uncapacitated(problem: SitingProblem) -> SitingProblem:
    return SitingProblem(demand=problem.demand, pair_facility=problem.pair_facility,
                         pair_demand=problem.pair_demand, pair_minutes=problem.pair_minutes,
                         capacity=np.full(problem.n_facilities, np.inf), cost=problem.cost, fixed=problem.fixed,
                         max_new=problem.max_new)


def report(name: str, problem: SitingProblem, info: dict, repeat: int, spopt: bool) -> dict:
    """Greedy and exact on the capacitated problem and on its uncapacitated variant (where greedy
    is classically short of the optimum), and spopt's MCLP on the latter; returns the figures."""
    print(f"\n== {name}: {info}")
    out: dict = {"case": name, "info": info}
    for label, p in (("capacitated", problem), ("uncapacitated", _uncapacitated(problem))):
        t_greedy, greedy = _median(lambda p=p: solve_greedy(p), repeat)
        t_exact, best = _median(lambda p=p, g=greedy: solve_exact(p, time_limit=120, warm_start=g), repeat)
        print(f"{label:14s} greedy {t_greedy:8.3f} s covered {greedy.covered:12,.1f} | exact {t_exact:8.3f} s "
              f"covered {best.covered:12,.1f} ({best.status}, MIP gap {best.mip_gap}) | optimality gap of "
              f"greedy {100 * optimality_gap(best, greedy):.3f} % | greedy/exact time {t_greedy / t_exact:.4f}")
        out[label] = {"greedy_s": round(t_greedy, 4), "exact_s": round(t_exact, 3), "status": best.status,
                      "greedy_short_pct": round(100 * optimality_gap(best, greedy), 3)}
        if spopt and label == "uncapacitated":
            base = _spopt(p)
            if base is None:
                print("spopt not installed: pip install spopt (test extra) for the baseline")
                continue
            t_base, covered = base
            print(f"{'':14s} spopt MCLP + HiGHS {t_base:.3f} s covered {covered:,.1f}; "
                  f"ours exact / spopt time {t_exact / t_base:.3f}")
            out["spopt_s"] = round(t_base, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=25.0, help="scale of the province case")
    parser.add_argument("--grid-m", type=float, default=500.0, help="road grid spacing of the province case")
    parser.add_argument("--skip-province", action="store_true")
    args = parser.parse_args()
    problem, info = _case(1.0, target_points=1000, n_candidates=200, max_new=10)
    cases = [report("district case", problem, info, args.repeat, spopt=True)]
    if not args.skip_province:
        problem, info = _case(args.scale, target_points=1500, n_candidates=2000, max_new=25, grid_m=args.grid_m)
        cases.append(report("province case", problem, info, args.repeat, spopt=False))
    record("siting", cases, "; ".join(
        f"{c['case']}: exact {c['capacitated']['exact_s']} s capacitated, "
        f"{c['uncapacitated']['exact_s']} s uncapacitated (greedy short "
        f"{c['uncapacitated']['greedy_short_pct']} %)" for c in cases))


if __name__ == "__main__":
    main()
