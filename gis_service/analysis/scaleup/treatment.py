"""Treatment capacity as a hard limit of a plan's scheduled desludging (docs/scale-up-planning.md,
"Treatment capacity").

Every household a plan counts on scheduled desludging brings sludge that an IPLT must treat:
households / desludging interval / working days x m3 per emptying, in m3/day. The siting and the
assignment keep all desludging facilities together within what the plan's IPLTs treat (the
treatment pool of ``siting``): an IPLT adds the tanks it can take whole per working day
(floor(m3/day / m3 per emptying)) x ``iplt_design_load`` x working days x interval, a depot or
river landing adds none. A plan may enlarge an existing
IPLT (a siting step with ``candidates: [enlarge]``: a module of ``iplt_enlargement_m3_per_day``
at the plant's own site, priced per m3/day like a new plant) or site a new one; otherwise the
households beyond the plants' capacity are not served and the plan reports the shortfall.

Where each facility's sludge goes (``iplt_load``): an IPLT treats what its own trucks bring; a
depot's or landing's sludge goes to the IPLTs by a transport LP that minimises m3 x km (straight
line in the region's metric CRS) within each plant's capacity left in whole tanks, per phase
with the plants open by then. The pool guarantees the LP has room for all of it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from gis_service.analysis.parameters import households_per_year_per_m3, value
from gis_service.analysis.scaleup.assignment import assign
from gis_service.analysis.scaleup.finance import iplt_m3_per_day
from gis_service.analysis.scaleup.services import ENLARGEMENT, Service
from gis_service.analysis.scaleup.spec import SitingStep


def treatment_households(fac: pd.DataFrame, params: dict) -> np.ndarray:
    """(F,) households each desludging facility adds to the treatment pool: an IPLT the tanks it
    takes whole each working day (a truck cannot leave part of a tank) x its design load x
    working days x interval (inf when no capacity is recorded), anything else 0."""
    is_plant = fac["type"].eq("iplt").to_numpy()
    unknown = ~np.isfinite(fac["capacity_households"].astype(float).to_numpy())  # none recorded: NaN or inf
    tanks = np.array([np.floor(iplt_m3_per_day(c, u, params) / value(params, "sludge_per_emptying") + 1e-9)
                      if t == "iplt" else 0.0 for t, c, u in zip(fac["type"], fac["capacity"], fac["capacity_unit"])])
    per_day = tanks * value(params, "iplt_design_load") * value(params, "working_days_per_year") * \
        value(params, "desludging_interval")
    return np.where(is_plant, np.where(unknown, np.inf, per_day), 0.0)


def m3_per_day(households: np.ndarray | float, params: dict) -> np.ndarray | float:
    """Sludge per working day that households on scheduled desludging bring."""
    return np.asarray(households, float) / households_per_year_per_m3(params) if np.ndim(households) \
        else float(households) / households_per_year_per_m3(params)


def enlargements(service: Service, siting: SitingStep, params: dict) -> pd.DataFrame:
    """Candidate enlargements of the plan's existing IPLTs (one module each, at the plant's site;
    ``facility_id`` is the plant's, ``origin`` 'enlargement')."""
    plants = service.fac[service.fac["type"].eq("iplt") & service.fac["role"].eq("fixed")]
    size = siting.capacity if siting.capacity is not None else value(params, "iplt_enlargement_m3_per_day")
    unit = siting.capacity_unit or "m3_per_day"
    return pd.DataFrame({"name": [f"Perluasan {n}" for n in plants["name"]],
                         "facility_id": plants["facility_id"].to_numpy(), "origin": ENLARGEMENT,
                         "village_code": plants["village_code"].to_numpy(), "x": plants["x"].to_numpy(),
                         "y": plants["y"].to_numpy(), "capacity": float(size), "capacity_unit": unit})


def plant_of(fac: pd.DataFrame) -> np.ndarray:
    """(F,) row of the plant each IPLT row belongs to (an enlargement: its plant's row), -1 for
    other types. Plants are the fixed or new IPLTs that are not enlargements."""
    out = np.full(len(fac), -1, np.int64)
    is_plant = fac["type"].eq("iplt").to_numpy()
    enlarged = fac["origin"].eq(ENLARGEMENT).to_numpy()
    base = is_plant & ~enlarged
    out[base] = np.flatnonzero(base)
    row_of_id = {fid: i for i, fid in zip(np.flatnonzero(base), fac["facility_id"].to_numpy()[base])
                 if pd.notna(fid)}
    for i in np.flatnonzero(enlarged):
        out[i] = row_of_id.get(fac["facility_id"].iat[i], i)
    return out


def iplt_load(lltt: Service, fac_lltt: pd.DataFrame, params: dict) -> list[dict]:
    """Per plant and phase (0 now, 1 short term, 2 medium term): its capacity in m3/day (with the
    enlargements built by then) and the sludge it receives (module docstring)."""
    if lltt.problem is None or not lltt.phase_flows:
        return []
    phase = fac_lltt["phase"].to_numpy()
    fixed = fac_lltt["role"].eq("fixed").to_numpy()
    plant = plant_of(fac_lltt)
    m3 = np.array([iplt_m3_per_day(c, u, params) if t == "iplt" else 0.0 for t, c, u in
                   zip(fac_lltt["type"], fac_lltt["capacity"], fac_lltt["capacity_unit"])])
    tank = value(params, "sludge_per_emptying")
    whole = np.floor(m3 / tank + 1e-9) * tank * value(params, "iplt_design_load")  # whole tanks, design load
    no_limit = fac_lltt["type"].eq("iplt").to_numpy() & fac_lltt["capacity_households"].isna().to_numpy()
    xy = fac_lltt[["x", "y"]].to_numpy(float)
    rows = []
    for k in sorted(lltt.phase_flows):
        built = fixed | ((phase >= 1) & (phase <= k))
        served = np.bincount(lltt.problem.pair_facility, weights=lltt.phase_flows[k], minlength=len(fac_lltt))
        plants = np.unique(plant[(plant >= 0) & built])
        if not len(plants):
            continue
        cap = np.array([m3[(plant == p) & built].sum() for p in plants])
        usable = np.array([whole[(plant == p) & built].sum() for p in plants])
        unlimited = np.array([no_limit[(plant == p) & built].any() for p in plants])
        own = np.array([m3_per_day(served[(plant == p) & built].sum(), params) for p in plants])
        carried = _transport(m3_per_day(served[(plant < 0) & built], params), xy[(plant < 0) & built],
                             xy[plants], np.where(unlimited, np.inf, usable - own))
        for i, p in enumerate(plants):
            rows.append({"facility_id": _id(fac_lltt["facility_id"].iat[p]), "name": str(fac_lltt["name"].iat[p]),
                         "phase": int(k), "capacity_m3_day": None if unlimited[i] else round(float(cap[i]), 3),
                         "load_m3_day": round(float(own[i] + carried[i]), 3),
                         "from_own_trucks_m3_day": round(float(own[i]), 3),
                         "from_depots_m3_day": round(float(carried[i]), 3)})
    return rows


def _id(value) -> int | None:
    return None if pd.isna(value) else int(value)


def _transport(supply: np.ndarray, supply_xy: np.ndarray, plant_xy: np.ndarray, room: np.ndarray) -> np.ndarray:
    """m3/day each plant receives from the depots: min m3 x km within ``room`` per plant."""
    if not len(supply) or supply.sum() <= 0:
        return np.zeros(len(plant_xy))
    km = np.hypot(supply_xy[:, None, 0] - plant_xy[None, :, 0], supply_xy[:, None, 1] - plant_xy[None, :, 1]) / 1e3
    n_s, n_p = km.shape
    a_eq = np.kron(np.eye(n_s), np.ones((1, n_p)))
    finite = np.isfinite(room)
    a_ub = np.kron(np.ones((1, n_s)), np.eye(n_p))[finite]
    slack = 1e-6 * max(1.0, float(supply.sum()))  # the pool held within the solvers' tolerance
    result = linprog(km.ravel(), A_ub=a_ub if finite.any() else None,
                     b_ub=np.maximum(room[finite], 0.0) + slack if finite.any() else None,
                     A_eq=a_eq, b_eq=supply, bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"the depots' sludge does not fit the plants' capacity left: {result.message}")
    return result.x.reshape(n_s, n_p).sum(axis=0)


def shortfall(lltt: Service) -> float:
    """Households the desludging facilities could serve within their own capacity and reach but
    the plants cannot treat (0 when the pool does not bind)."""
    if lltt.problem is None or lltt.final is None or lltt.problem.treatment is None:
        return 0.0
    free = assign(replace(lltt.problem, treatment=None), lltt.final.open)
    return max(0.0, float(free.sum() - lltt.final.assigned.sum()))


def summary(lltt: Service, fac_lltt: pd.DataFrame, loads: list[dict], params: dict) -> dict:
    """The plan's treatment in one place: the sludge of the households on desludging against the
    plants' capacity (the final phase) and what the plan may load of it (whole tanks at the design
    load), the shortfall, and whether any plant is overloaded."""
    final = [r for r in loads if r["phase"] == max((x["phase"] for x in loads), default=0)]
    served = float(fac_lltt["served_households"].sum()) if len(fac_lltt) else 0.0
    short = shortfall(lltt)
    capped = [r["capacity_m3_day"] for r in final]
    overloaded = [r for r in loads if r["capacity_m3_day"] is not None
                  and r["load_m3_day"] > r["capacity_m3_day"] * (1 + 1e-6) + 1e-6]
    plants = fac_lltt["type"].eq("iplt").to_numpy()
    usable = float(np.sum(treatment_households(fac_lltt, params)[plants])) if plants.any() else 0.0
    return {"m3_per_day_needed": round(m3_per_day(served, params), 3),
            "m3_per_day_in_plan": None if any(c is None for c in capped) else round(sum(capped), 3),
            "m3_per_day_usable": None if not np.isfinite(usable) else round(m3_per_day(usable, params), 3),
            "shortfall_households": round(short, 1), "shortfall_m3_per_day": round(m3_per_day(short, params), 3),
            "overloaded": [f"{r['name']} (phase {r['phase']})" for r in overloaded]}

