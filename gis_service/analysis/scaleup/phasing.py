"""Which villages and facilities come first: a transparent priority score per village and the
short-term / medium-term phases (docs/domain.md §1: 1-2 years, up to 5 years).

score = w_gap x gap / largest gap + w_risk x EHRA class / 4 + w_cost x (1 - cost per person /
highest cost per person) + w_reach x share of the village's households the plan reaches.
Weights are the parameter ``priority_weights``; a part with no data anywhere in the region (no
EHRA classes loaded, no cost) drops out and the remaining weights are rescaled, and the run says so.

New facilities are built in order of the priority they serve per rupiah (the households they
serve weighted by their village's score, over their investment): the short term takes them until
they serve ``short_term_share`` of what all new facilities serve, the rest are medium term. A
village's phase is the earliest phase in which a facility reaches it (existing and pilot
facilities: short term); villages no facility of the plan reaches are phase 3 ("later": they need
another facility type or a longer horizon). Villages are ranked by score within the plan.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from gis_service.analysis.parameters import mapping, value
from gis_service.analysis.scaleup import calibration as cal
from gis_service.analysis.scaleup import finance
from gis_service.analysis.scaleup.assignment import assign
from gis_service.analysis.scaleup.cells import Cells
from gis_service.analysis.scaleup.outcomes import (
    count_newly_aman,
    count_newly_layak,
    count_newly_lltt,
    covered_households,
    layak_share,
    tanks_needed,
)
from gis_service.analysis.scaleup.services import SERVICE_ORDER, Service
from gis_service.analysis.scaleup.sites import as_solution
from gis_service.analysis.scaleup.spec import Plan

PARTS = ("gap", "risk", "cost", "reach")
NOTES = {
    "id": {"no_risk": "kelas risiko EHRA belum dimuat untuk desa-desa ini: bobot risiko tidak dipakai",
           "no_cost": "tidak ada desa dengan biaya per jiwa (tidak ada cakupan baru): bobot biaya tidak dipakai"},
    "en": {"no_risk": "no EHRA risk classes loaded for these villages: the risk weight is left out",
           "no_cost": "no village has a cost per person (nothing newly covered): the cost weight is left out"},
}


def scores(villages: pd.DataFrame, params: dict) -> tuple[np.ndarray, dict[str, float], list[str]]:
    """Score per village (columns gap, risk_class, cost_per_person_idr, reachable_share), the
    weights used and the parts dropped for lack of data (``NOTES`` has their texts)."""
    weights = {k: float(v) for k, v in mapping(params, "priority_weights").items()}
    unknown = set(weights) - set(PARTS)
    if unknown:
        raise KeyError(f"priority_weights has unknown parts {sorted(unknown)} (use {', '.join(PARTS)})")
    gap = villages["gap"].astype(float).to_numpy()
    risk = villages["risk_class"].astype(float).to_numpy()
    cost = villages["cost_per_person_idr"].astype(float).to_numpy()
    reach = villages["reachable_share"].astype(float).to_numpy()
    part = {"gap": _share(gap), "risk": np.nan_to_num(risk / 4.0),
            "cost": np.where(np.isfinite(cost), 1.0 - _share(np.nan_to_num(cost, posinf=0.0)), 0.0),
            "reach": np.nan_to_num(reach)}
    notes = []
    if not np.isfinite(risk).any():
        notes.append("no_risk")
        weights.pop("risk", None)
    if not np.isfinite(cost).any():
        notes.append("no_cost")
        weights.pop("cost", None)
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("priority_weights must have a positive sum over the parts with data")
    used = {k: w / total for k, w in weights.items()}
    return sum(used[k] * part[k] for k in used), used, notes


def ranks(score: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Rank 1 is the highest score (ties: the larger need first, then input order)."""
    order = np.lexsort((-need, -score))
    rank = np.empty(len(score), np.int64)
    rank[order] = np.arange(1, len(score) + 1)
    return rank


def facility_phases(gain: np.ndarray, worth: np.ndarray, cost: np.ndarray, params: dict) -> np.ndarray:
    """Phase (1 or 2) of each new facility. ``gain``: households it serves; ``worth``: those
    households weighted by their village's score. Facilities go in order of worth per rupiah
    (worth when free) into the short term until the households they serve reach
    ``short_term_share`` of what all new facilities serve; the first always goes."""
    if not len(gain):
        return np.zeros(0, np.int64)
    per_rupiah = np.where(cost > 0, worth / np.maximum(cost, 1e-9), np.inf)
    order = np.lexsort((-worth, -per_rupiah))
    before = np.cumsum(gain[order]) - gain[order]
    phase = np.full(len(gain), 2, np.int64)
    short = before < value(params, "short_term_share") * gain.sum()
    short[0] = True
    phase[order[short]] = 1
    return phase


def village_phases(facility_phase_of_village: np.ndarray) -> np.ndarray:
    """A village's phase is the earliest phase in which a facility reaches its households (fixed
    facilities count as phase 1: enrolment in existing reach is short-term work); 3 when none
    of the plan's facilities reaches it."""
    return np.where(np.isfinite(facility_phase_of_village),
                    np.maximum(1, facility_phase_of_village), 3).astype(np.int64)


def _share(x: np.ndarray) -> np.ndarray:
    top = np.nanmax(x) if len(x) and np.isfinite(x).any() else 0.0
    return np.nan_to_num(x / top) if top > 0 else np.zeros(len(x))


def split_phase_flows(services: dict[str, Service], fac: pd.DataFrame, demand: Cells) -> None:
    """Assignments now, after the short term and after the medium term; each keeps the households
    of every demand point served in the phase before. The medium-term one becomes the final."""
    offsets = np.cumsum([0] + [len(services[name].fac) for name in SERVICE_ORDER])
    phase_of = fac["phase"].to_numpy()
    n = len(demand.frame)
    for i, name in enumerate(SERVICE_ORDER):
        s = services[name]
        if s.final is None:
            continue
        ph = phase_of[offsets[i]: offsets[i + 1]]
        flows = {0: s.now.assigned}
        for k in (1, 2):
            floor = np.bincount(s.problem.pair_demand, weights=flows[k - 1], minlength=n)
            flows[k] = assign(s.problem, ph <= k, floor=floor)
        s.phase_flows = flows
        s.final = as_solution(np.ones(len(ph), bool), flows[2])


def phase_facilities_and_villages(services: dict[str, Service], fac: pd.DataFrame, demand: Cells,
                                   vill: pd.DataFrame, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Facility phases (0 fixed, 1 short, 2 medium) and village phases (1, 2, 3), see ``phasing``."""
    codes = demand.frame["village_code"].to_numpy()
    row_of = pd.Series(np.arange(len(vill)), index=vill["village_code"].to_numpy())
    cell_village = row_of.reindex(codes).to_numpy()
    score = vill["score"].to_numpy(float)
    fac_phase = np.zeros(len(fac), np.int64)
    offset, links = 0, []
    for s in services.values():
        if s.final is None:
            continue
        used = s.final.assigned > 1e-9
        f, v = s.problem.pair_facility[used] + offset, cell_village[s.problem.pair_demand[used]]
        links.append((f, v, s.final.assigned[used]))
        offset += len(s.fac)
    f, v, flow = (np.concatenate(x) for x in zip(*links)) if links else \
        (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    new = np.flatnonzero(fac["role"].eq("new").to_numpy())
    gain = np.bincount(f, weights=flow, minlength=len(fac))
    worth = np.bincount(f, weights=flow * score[v], minlength=len(fac)) if len(f) else np.zeros(len(fac))
    fac_phase[new] = facility_phases(gain[new], worth[new], fac["capex_idr"].to_numpy(float)[new],
                                             params)
    earliest = np.full(len(vill), np.inf)
    np.minimum.at(earliest, v, fac_phase[f].astype(float))
    return fac_phase, village_phases(earliest)


def plan_phases(services: dict[str, Service], fac: pd.DataFrame, demand: Cells, vill: pd.DataFrame,
            plan: Plan, params: dict, *, trip_model: cal.TripModel,
            round_trip: float) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The state now (phase 0: reach of the fixed facilities, today's ladder) and after each phase:
    the best assignment to the facilities built by then, the households it makes aman (with the
    septic tanks they need), and the investment of the phase (facilities, tanks, and trucks
    beyond the depots' that the phase's households need; trucks bought stay bought). Returns the
    phase table, the villages with their coverage per phase, and the trucks bought in all."""
    c = demand.frame
    n = len(c)
    start = plan.start_year or date.today().year
    years = {0: start, 1: start + int(value(params, "short_term_years")) - 1,
             2: start + int(value(params, "medium_term_years")) - 1}
    total_hh = float(c["households"].sum())
    per_hh = c["people"].to_numpy(float) / c["households"].clip(lower=1).to_numpy(float)
    rows, covered_by = [], {}
    spent = {"tanks": 0.0, "trucks": 0}
    capex_cum = 0.0
    for k in (0, 1, 2):
        flow = {name: np.bincount(services[name].problem.pair_demand, weights=services[name].phase_flows[k],
                                  minlength=n) if services[name].phase_flows else np.zeros(n)
                for name in SERVICE_ORDER}
        covered = covered_households(c, flow)
        covered_by[k] = pd.Series(covered).groupby(c["village_code"].to_numpy()).sum()
        is_new = fac["role"].eq("new") & fac["phase"].between(1, k)
        if k == 0:
            newly, tanks, capex, extra_trucks = np.zeros(n), 0.0, 0.0, 0
        else:
            newly = count_newly_aman(c, flow)
            tanks = float(tanks_needed(c, count_newly_lltt(c, flow["lltt"])).sum())
            needed = finance.fleet_needed(float(flow["lltt"].sum()), round_trip, trip_model, params)
            have = float(fac.loc[fac["service"].eq("lltt") & (fac["role"].eq("fixed") | is_new), "trucks"].sum())
            extra_trucks = max(spent["trucks"], int(np.ceil(needed - have - 1e-9)))
            capex = float(fac.loc[fac["role"].eq("new") & fac["phase"].eq(k), "capex_idr"].sum()) \
                + (tanks - spent["tanks"]) * value(params, "capex_septic_tank") \
                + (extra_trucks - spent["trucks"]) * value(params, "capex_truck")
            spent = {"tanks": tanks, "trucks": extra_trucks}
        capex_cum += capex
        opex = float(fac.loc[fac["role"].eq("fixed") | is_new, "opex_idr_per_year"].sum()) \
            + extra_trucks * value(params, "opex_truck_fixed")
        rows.append({"phase": k, "until_year": years[k], "new_facilities": int(is_new.sum()),
                     "households_covered": float(covered.sum()),
                     "people_covered": round(float((covered * per_hh).sum()), 1),
                     "coverage_pct": 100.0 * covered.sum() / total_hh,
                     "aman_pct": 100.0 * (c["aman"].sum() + newly.sum()) / total_hh,
                     "layak_pct": 100.0 * (layak_share(c).sum() + count_newly_layak(c, newly).sum()) / total_hh,
                     "capex_idr": capex, "capex_cumulative_idr": capex_cum, "opex_idr_per_year": opex})
    vill = vill.copy()
    for k, col in ((1, "covered_phase1"), (2, "covered_phase2")):
        vill[col] = covered_by[k].reindex(vill["village_code"]).fillna(0.0).to_numpy()
    return pd.DataFrame(rows), vill, spent["trucks"]
