"""What a plan changes per village: households newly served, newly ``aman`` and ``layak``, septic
tanks needed, and the target the plan aims at."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from gis_service.analysis.parameters import (
    value,
)
from gis_service.analysis.scaleup.cells import Cells, village_needs
from gis_service.analysis.scaleup.services import SERVICE_ORDER, Service
from gis_service.analysis.scaleup.sites import cell_flow
from gis_service.analysis.scaleup.spec import Plan


def village_outcomes(demand: Cells, services: dict[str, Service], fac: pd.DataFrame, villages: pd.DataFrame,
                  risk: pd.Series, targets: pd.DataFrame, plan: Plan, params: dict) -> pd.DataFrame:
    """Per village: needs, coverage now and with the plan, newly aman, gap to the plan's target,
    cost per person, reachability, EHRA class."""
    c = demand.frame
    n = len(c)
    now = {s: cell_flow(services[s], services[s].now, n) for s in SERVICE_ORDER}
    end = {s: cell_flow(services[s], services[s].final, n) for s in SERVICE_ORDER}
    newly = count_newly_aman(c, end)
    cell = pd.DataFrame({"village_code": c["village_code"], "covered_now": covered_households(c, now),
                         "covered_end": covered_households(c, end), "newly_aman": newly,
                         "newly_layak": count_newly_layak(c, newly), "tanks": tanks_needed(c, count_newly_lltt(c, end["lltt"])),
                         "reachable": reachable_cells(services, n)})
    per = cell.groupby("village_code").sum()
    v = village_needs(demand).set_index("village_code").join(per)
    target_pct = plan_target(targets, plan)
    have = v["aman"] if plan.target.indicator == "aman_pct" else layak_share(v)
    v["gap"] = np.maximum(0.0, np.ceil(target_pct / 100.0 * v["households"] - have - 1e-9)).astype(int)
    v["newly_covered"] = np.maximum(0.0, v["covered_end"] - v["covered_now"])
    v["reachable_share"] = np.where(v["households"] > 0, v["reachable"] / v["households"], 0.0)
    v["risk_class"] = risk.reindex(v.index).astype(float)
    v["capex_share_idr"] = village_capex(services, fac, demand, params).reindex(v.index).fillna(0.0) + \
        v["tanks"] * value(params, "capex_septic_tank")
    people_per_hh = v["people"] / v["households"].clip(lower=1)
    newly_people = v["newly_aman"] * people_per_hh
    v["cost_per_person_idr"] = np.where(newly_people > 0, v["capex_share_idr"] / newly_people.clip(lower=1e-9),
                                        np.nan)
    return v.reset_index().merge(villages[["code", "name", "district_code"]], left_on="village_code",
                                 right_on="code", how="left").drop(columns="code")


def covered_households(c: pd.DataFrame, flow: dict[str, np.ndarray]) -> np.ndarray:
    """Households per cell in reach of a service. Desludging and off-site connection serve
    disjoint groups; a public toilet counts only for open-defecation households that desludging
    does not reach (both may reach the same household: it is counted once)."""
    lltt_demand = (c["households"] - c["offsite"]).to_numpy(float)
    return flow["lltt"] + flow["offsite"] + np.minimum(flow["mck"], np.maximum(0.0, lltt_demand - flow["lltt"]))


def count_newly_lltt(c: pd.DataFrame, flow: np.ndarray) -> np.ndarray:
    """Households that join scheduled desludging: coverage beyond those already aman."""
    return np.minimum(c["lltt"].to_numpy(float), np.maximum(0.0, flow - c["aman"].to_numpy(float)))


def count_newly_aman(c: pd.DataFrame, flow: dict[str, np.ndarray]) -> np.ndarray:
    return count_newly_lltt(c, flow["lltt"]) + np.minimum(c["offsite"].to_numpy(float), flow["offsite"])


def tanks_needed(c: pd.DataFrame, newly_lltt: np.ndarray) -> np.ndarray:
    """Septic tanks the households joining desludging need: their cell's share without a tank
    (the rule of the requirements table)."""
    lltt, tank = c["lltt"].to_numpy(float), c["tank"].to_numpy(float)
    return np.where(lltt > 0, newly_lltt * tank / np.maximum(lltt, 1e-12), 0.0)


def count_newly_layak(c: pd.DataFrame, newly_aman: np.ndarray) -> np.ndarray:
    """Households the plan lifts to layak: those becoming aman are drawn from the cell's non-aman
    households in proportion, and the non-layak among them become layak."""
    households = c["households"].to_numpy(float)
    not_aman, not_layak = households - c["aman"].to_numpy(float), households - layak_share(c).to_numpy(float)
    return np.where(not_aman > 0, newly_aman * not_layak / np.maximum(not_aman, 1e-12), 0.0)


def layak_share(v: pd.DataFrame) -> pd.Series:
    return v["aman"] + v["layak_sendiri"] + v["layak_bersama"]


def reachable_cells(services: dict[str, Service], n: int) -> np.ndarray:
    """Households of each cell within reach of a facility of the plan (any service)."""
    c = np.zeros(n)
    for s in services.values():
        if s.problem is not None and len(s.problem.pair_demand):
            cells_in = np.unique(s.problem.pair_demand)
            c[cells_in] = np.maximum(c[cells_in], s.demand[cells_in])
    return c


def plan_target(targets: pd.DataFrame, plan: Plan) -> float:
    rows = targets[targets["indicator"] == plan.target.indicator]
    if rows.empty:
        raise ValueError(f"no {plan.target.indicator} target loaded: load config/targets.yml "
                         "(gis-service demo load does) or add a target row")
    year = plan.target.year
    if year is None:
        start = plan.start_year or date.today().year
        later = rows[rows["year"] >= start]
        row = later.iloc[0] if len(later) else rows.iloc[-1]
    else:
        match = rows[rows["year"] == year]
        if match.empty:
            raise ValueError(f"no {plan.target.indicator} target for {year}; years loaded: "
                             f"{', '.join(str(y) for y in rows['year'])}")
        row = match.iloc[0]
    plan.target.year = int(row["year"])
    return float(row["value"])


def village_capex(services: dict[str, Service], fac: pd.DataFrame, demand: Cells, params: dict) -> pd.Series:
    """New facilities' investment shared over villages by the households each serves there."""
    codes = demand.frame["village_code"].to_numpy()
    parts = []
    offset = 0
    for s in services.values():
        if s.final is None:
            continue
        f = fac.iloc[offset: offset + len(s.fac)]
        offset += len(s.fac)
        served = s.final.served_by_facility(s.problem)
        per_hh = np.where(served > 0, f["capex_idr"].to_numpy() / np.maximum(served, 1e-12), 0.0)
        parts.append(pd.Series(s.final.assigned * per_hh[s.problem.pair_facility],
                               index=codes[s.problem.pair_demand]))
    if not parts:
        return pd.Series(dtype=float)
    return pd.concat(parts).groupby(level=0).sum()
