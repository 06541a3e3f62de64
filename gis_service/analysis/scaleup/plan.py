"""Run a scenario's scale-up plan for a region and store it as a run.

Steps: calibrate from the pilot; group the region's households into demand cells with their
needs; site new facilities step by step (each step keeps what is already open fixed), exactly
with HiGHS and/or greedily, on network travel times from the coverage engine; cost the plan
(facilities, fleet, septic tanks), derive tariffs and the funding split; list what each
institution runs; score and phase the villages; project the requirements of every target. Results
go to ``scaleup_*`` tables keyed by the run id, so plans can be compared.

Services and their demand per cell (households):
- ``lltt`` scheduled desludging (IPLTs, depots, river landings): every household not planned for
  an off-site connection; existing and pilot facilities keep their capacity, so the households
  they already serve take part of it;
- ``offsite`` IPAL komunal: the households planned for connection; existing plants are full with
  the households already connected, so they enter with no spare capacity;
- ``mck`` public toilet blocks: households practising open defecation.
A depot or landing that feeds an IPLT is sited on its own trucks' capacity; whether the plants
can treat the sludge is checked in the requirements (IPLT m3/day needed against the plan's).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, Engine, text

from gis_service.analysis import network as net
from gis_service.analysis.coverage import DEFAULT_MODES, has_illustrative_data
from gis_service.analysis.demand import load_demand
from gis_service.analysis.parameters import (
    SERVICE_OF_TYPE,
    capacity_households,
    load_parameter_values,
    mapping,
    value,
)
from gis_service.analysis.rungs import village_is_urban
from gis_service.analysis.scaleup import calibration as cal
from gis_service.analysis.scaleup import finance, institutions, phasing
from gis_service.analysis.scaleup.assignment import assign
from gis_service.analysis.scaleup.candidates import candidates
from gis_service.analysis.scaleup.demand import Cells, cells, village_needs
from gis_service.analysis.scaleup.reach import Reacher
from gis_service.analysis.scaleup.requirements import requirements
from gis_service.analysis.scaleup.scenarios import dump, scenario_plan
from gis_service.analysis.scaleup.spec import Plan, SitingStep
from gis_service.analysis.siting import (
    SitingProblem,
    SitingSolution,
    optimality_gap,
    solve_exact,
    solve_greedy,
)
from gis_service.db.bulk import copy_frame
from gis_service.settings import Settings, get_settings

SERVICE_ORDER = ("lltt", "offsite", "mck")
DEFAULT_CAPACITY = {"iplt": ("new_iplt_m3_per_day", "m3_per_day"),
                    "desludging_depot": ("new_depot_trucks", "trucks"),
                    "transfer_station": ("new_depot_trucks", "trucks"),
                    "ipal_komunal": ("ipal_komunal_households", "households"),
                    "mck": ("new_mck_households", "households")}
FACILITY_COLUMNS = ["facility_id", "name", "type", "role", "origin", "village_code", "x", "y", "capacity",
                    "capacity_unit", "capacity_households", "modes", "institution_type", "pick_order", "step"]


@dataclass
class ScaleupOptions:
    scenario: str
    region: str | None = None  # Kemendagri code(s), comma-separated for several; None: the scenario's
    model: str | None = None  # exact | greedy | both: overrides every siting step
    calibration: str | None = None  # pilot | defaults: overrides the scenario's plan
    time_limit: float = 60.0  # seconds per exact solve


@dataclass
class ScaleupResult:
    run_id: int
    summary: dict
    seconds: dict
    facilities: pd.DataFrame
    villages: pd.DataFrame
    requirements: pd.DataFrame
    phases: pd.DataFrame


@dataclass
class _Service:
    """One service's facilities in the plan (fixed first, new ones appended) and its demand."""

    name: str
    demand: np.ndarray
    fac: pd.DataFrame
    final: SitingSolution | None = None
    problem: SitingProblem | None = None
    now: SitingSolution | None = None
    phase_flows: dict[int, np.ndarray] = field(default_factory=dict)  # households per pair by phase
    steps: list[dict] = field(default_factory=list)


def run_scaleup(engine: Engine, options: ScaleupOptions, *, settings: Settings | None = None,
                progress=None) -> ScaleupResult:
    """Run, store and return a scale-up plan (module docstring). ``progress(step)`` is called
    between steps."""
    settings = settings or get_settings()
    step = progress or (lambda name: None)
    laps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        laps[name] = round(now - clock, 3)
        clock = now

    region_cfg = settings.region_config()
    metric = region_cfg.metric_crs
    to_metric = Transformer.from_crs("EPSG:4326", metric, always_xy=True)
    with engine.begin() as conn:
        step("loading")
        scenario = _scenario(conn, options.scenario)
        plan = scenario_plan(scenario["plan"])
        if options.calibration:
            plan = plan.model_copy(update={"calibration": options.calibration})
        region = options.region or scenario["region_code"] or region_cfg.code
        codes = [c.strip() for c in region.split(",") if c.strip()]
        region = ",".join(codes)
        region_geom, region_name, region_level = _region(conn, codes, metric)
        params = load_parameter_values(conn, parameter_set_id=scenario["parameter_set_id"],
                                       config_dir=settings.config_dir)
        calibration = cal.calibrate(cal.pilot_records(conn, region_codes=codes, pilot=plan.pilot), params,
                                    trucks=cal.pilot_trucks(conn))
        used = calibration.apply(params) if plan.calibration == "pilot" else dict(params)
        used = _with_trip_capacity(used, calibration.trip_model)
        villages = _villages(conn, codes)
        households = load_demand(conn, "households", to_metric=to_metric, metric_crs=metric, params=used,
                                 as_of=date.today()).households
        households = households[households["village_code"].isin(villages["code"])]
        if households.empty:
            raise ValueError(f"no households in {region} ({region_name}): import household points first "
                             "(gis-service import households FILE)")
        urban = set(villages.loc[villages["urban"] == True, "code"])
        demand = cells(households, urban, used, cell_m=plan.demand_cell_m)
        fixed = _fixed_facilities(conn, scenario["id"], to_metric)
        stored = _stored_candidates(conn, to_metric)
        settlements = _settlements(conn, metric)
        targets = _targets(conn, codes)
        risk = _risk(conn, codes)
        edges = net.load_edges(conn, metric_crs=metric)
        illustrative = has_illustrative_data(conn)
        lap("load")

        step("siting")
        reacher = Reacher(edges, net.NetworkParams.from_config(settings.network_config()), used)
        services = _services(demand, fixed, used)
        for i, siting in enumerate(plan.siting):
            if options.model:
                siting = siting.model_copy(update={"model": options.model})
            _site(services[SERVICE_OF_TYPE[siting.type]], siting, i, demand=demand, reacher=reacher,
                  region=region_geom, stored=stored, settlements=settlements, params=used, metric=metric,
                  time_limit=options.time_limit)
        for service in services.values():
            _final(service, demand, reacher)
        lap("siting")

        step("costs, phases and requirements")
        fac = _plan_facilities(services, used)
        fac["institution_type"] = institutions.assign(fac, used)
        vill = _village_plan(demand, services, fac, villages, risk, targets, plan, used)
        score, weights, score_notes = phasing.scores(vill, used)
        vill["score"] = np.round(score, 4)
        vill["rank"] = phasing.ranks(score, vill["gap"].to_numpy(float))
        fac["phase"], vill["phase"] = _phase_facilities_and_villages(services, fac, demand, vill, used)
        _phase_flows(services, fac, demand)  # the final assignment keeps every earlier phase's service
        fac = _plan_facilities(services, used).assign(institution_type=fac["institution_type"].to_numpy(),
                                                      phase=fac["phase"].to_numpy())
        vill = _village_plan(demand, services, fac, villages, risk, targets, plan, used).merge(
            vill[["village_code", "score", "rank", "phase"]], on="village_code", validate="one_to_one")
        phases, vill, bought = _phases(services, fac, demand, vill, plan, used, trip_model=calibration.trip_model,
                                       round_trip=2.0 * _one_way_minutes(services["lltt"]))
        fleet, money = _money(services, fac, vill, used, calibration, extra_trucks=bought)
        inst = institutions.table(fac, fleet)
        req = requirements(demand, villages, fac, targets, used, calibration.trip_model,
                           mean_round_trip=money["mean_round_trip_min"], region=region,
                           region_level=region_level)
        lap("plan")

        step("writing results")
        summary = _summary(region, region_name, plan, services, fac, vill, phases, money, fleet, inst,
                           weights, score_notes, illustrative, used)
        run_id = conn.execute(text(
            "INSERT INTO scaleup_run (scenario_id, scenario_name, region_code, plan, parameters, calibration, "
            "illustrative, summary) VALUES (:sid, :sname, :r, CAST(:plan AS jsonb), CAST(:p AS jsonb), "
            "CAST(:c AS jsonb), :ill, CAST(:s AS jsonb)) RETURNING id"),
            {"sid": scenario["id"], "sname": scenario["name"], "r": region, "plan": _json(dump(plan)),
             "p": _json(used), "c": _json(calibration.as_dict()), "ill": illustrative,
             "s": _json(summary)}).scalar_one()
        _write(conn, run_id, fac, vill, req, phases, metric)
        lap("write")
        conn.execute(text("UPDATE scaleup_run SET seconds = CAST(:s AS jsonb) WHERE id = :i"),
                     {"s": _json(laps), "i": run_id})
    return ScaleupResult(run_id, summary, laps, fac, vill, req, phases)


# ---- loading ------------------------------------------------------------------------------------

def _scenario(conn: Connection, name: str) -> dict:
    row = conn.execute(text("SELECT id, name, region_code, parameter_set_id, plan FROM scenario "
                            "WHERE name = :n"), {"n": name}).mappings().first()
    if row is None:
        known = conn.execute(text("SELECT name FROM scenario ORDER BY name")).scalars().all()
        raise ValueError(f"unknown scenario '{name}'; known: {', '.join(known) or 'none'} "
                         "(load scenarios with gis-service scaleup scenarios FILE)")
    return dict(row)


def _region(conn: Connection, codes: list[str], metric: str) -> tuple[shapely.Geometry, str, str]:
    """The planned area (metric CRS), its name and level ('group' for several areas)."""
    srid = Transformer.from_crs("EPSG:4326", metric).target_crs.to_epsg()
    if not codes:
        raise ValueError("no region code given: e.g. --region 62.07 (regency) or 62.07.01,62.07.02")
    parts = []
    for code in codes:
        row = conn.execute(text(f"SELECT name, level, ST_AsBinary(ST_Transform(geom, {int(srid)})) AS g "
                                "FROM admin_area WHERE code = :c"), {"c": code}).first()
        if row is None:
            raise ValueError(f"unknown region code {code}: give a Kemendagri code of a stored area "
                             "(e.g. 62.07 for the regency, 62.07.01 for a district; several with commas)")
        parts.append(row)
    geom = shapely.union_all([shapely.from_wkb(bytes(r.g)) for r in parts])
    return geom, " + ".join(r.name for r in parts), parts[0].level if len(parts) == 1 else "group"


IN_AREA = "({a} = {b} OR starts_with({a}, {b} || '.'))"  # area a is b or lies inside b


def _villages(conn: Connection, codes: list[str]) -> pd.DataFrame:
    v = pd.read_sql(text("SELECT code, name, parent_code AS district_code, village_kind, urban_rural "
                         "FROM admin_area WHERE level = 'village' AND EXISTS (SELECT 1 FROM "
                         f"unnest(CAST(:codes AS text[])) r WHERE {IN_AREA.format(a='code', b='r')}) ORDER BY code"),
                    conn, params={"codes": codes})
    v["urban"] = village_is_urban(v["urban_rural"], v["village_kind"])
    return v


def _facility_frame(conn: Connection, where: str, params: dict, to_metric: Transformer) -> pd.DataFrame:
    fac = pd.read_sql(text(
        "SELECT id AS facility_id, name, type, status, capacity, capacity_unit, service_modes, "
        "COALESCE(village_code, (SELECT a.code FROM admin_area a WHERE a.level = 'village' "
        "  AND ST_Intersects(a.geom, f.geom) ORDER BY a.code LIMIT 1)) AS village_code, "
        f"institution_type, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM facility f WHERE {where} ORDER BY id"),
        conn, params=params)
    fac["x"], fac["y"] = to_metric.transform(fac.pop("lon").to_numpy(), fac.pop("lat").to_numpy())
    fac["capacity"] = fac["capacity"].astype(float)
    return fac


def _fixed_facilities(conn: Connection, scenario_id: int, to_metric: Transformer) -> pd.DataFrame:
    return _facility_frame(conn, "id IN (SELECT facility_id FROM scenario_facility WHERE scenario_id = :s)",
                           {"s": scenario_id}, to_metric)


def _stored_candidates(conn: Connection, to_metric: Transformer) -> pd.DataFrame:
    return _facility_frame(conn, "status = 'candidate'", {}, to_metric).rename(columns={"facility_id": "id"})


def _settlements(conn: Connection, metric: str):
    import geopandas as gpd

    frame = gpd.read_postgis(text(
        "SELECT s.id, s.village_code, COALESCE(s.name, v.name, 'permukiman ' || s.id) AS label, s.geom "
        "FROM settlement s "
        "LEFT JOIN admin_area v ON v.code = s.village_code ORDER BY s.id"), conn, geom_col="geom")
    return frame.to_crs(metric) if len(frame) else frame.set_crs(4326, allow_override=True).to_crs(metric)


def _targets(conn: Connection, codes: list[str]) -> pd.DataFrame:
    """The target rows that apply to the whole region: national ones and those scoped to an area
    containing every planned area; per indicator and year the most specific wins (a district's
    own target over the national one)."""
    rows = pd.read_sql(text(
        "SELECT indicator, year, value, source, coalesce(scope_code, '') AS scope FROM target "
        "WHERE scope_code IS NULL OR NOT EXISTS (SELECT 1 FROM unnest(CAST(:codes AS text[])) r "
        f"WHERE NOT {IN_AREA.format(a='r', b='scope_code')})"), conn, params={"codes": codes})
    rows = rows.assign(depth=rows["scope"].str.len()).sort_values(["indicator", "year", "depth"],
                                                                   ascending=[True, True, False])
    return rows.drop_duplicates(["indicator", "year"]).drop(columns=["scope", "depth"]).sort_values(
        ["year", "indicator"]).reset_index(drop=True)


def _risk(conn: Connection, codes: list[str]) -> pd.Series:
    """Latest EHRA risk class per village of the region."""
    rows = pd.read_sql(text("SELECT DISTINCT ON (village_code) village_code, risk_class FROM village_risk "
                            "WHERE EXISTS (SELECT 1 FROM unnest(CAST(:codes AS text[])) r WHERE "
                            f"{IN_AREA.format(a='village_code', b='r')}) ORDER BY village_code, year DESC"),
                       conn, params={"codes": codes})
    return rows.set_index("village_code")["risk_class"]


def _with_trip_capacity(params: dict, model: cal.TripModel) -> dict:
    """Trips per truck-day for capacity: the trip-time model at a round trip of the one-way limit
    (an average household half the limit away)."""
    minutes = value(params, "lltt_max_travel_min")
    trips = float(model.trips_per_day(minutes))
    how = "fitted on the pilot" if model.fitted else "working minutes / (service + drive minutes)"
    return {**params, "trips_per_truck_day": {
        "value": round(trips, 3), "unit": "trips/day",
        "source": f"trip-time model ({how}) at a {minutes:g}-minute round trip"}}


# ---- siting -------------------------------------------------------------------------------------

def _services(demand: Cells, fixed: pd.DataFrame, params: dict) -> dict[str, _Service]:
    c = demand.frame
    need = {"lltt": (c["households"] - c["offsite"]).to_numpy(float),
            "offsite": c["offsite"].to_numpy(float), "mck": c["babs"].to_numpy(float)}
    out = {}
    for name in SERVICE_ORDER:
        own = fixed[fixed["type"].map(SERVICE_OF_TYPE) == name]
        rows = pd.DataFrame({
            "facility_id": own["facility_id"], "name": own["name"], "type": own["type"], "role": "fixed",
            "origin": own["status"], "village_code": own["village_code"], "x": own["x"], "y": own["y"],
            "capacity": own["capacity"], "capacity_unit": own["capacity_unit"],
            "capacity_households": [0.0 if name == "offsite" else _households_of(c_, u, params, k, n)
                                    for c_, u, k, n in zip(own["capacity"], own["capacity_unit"], own["type"],
                                                           own["name"])],
            "modes": [frozenset(m) if m else frozenset(DEFAULT_MODES.get(name, {"road"})) for m in own["service_modes"]],
            "institution_type": own["institution_type"], "pick_order": None, "step": None})
        out[name] = _Service(name, need[name], rows.reset_index(drop=True)[FACILITY_COLUMNS])
    return out


def _households_of(capacity, unit, params: dict, kind: str, name: str) -> float:
    """Capacity in households (inf: none recorded). Sludge units (m3/day, trucks) size desludging
    only: an IPAL komunal or MCK given in them is refused rather than converted as sludge."""
    if capacity is None or unit is None or (isinstance(capacity, float) and np.isnan(capacity)):
        return np.inf
    if SERVICE_OF_TYPE[kind] != "lltt" and unit not in ("households", "persons"):
        raise ValueError(f"facility '{name}': the capacity of a {kind} is given in {unit}; give it in "
                         "households or persons (m3/day and trucks size desludging services)")
    return float(capacity_households(capacity, unit, params))


def _problem(service: _Service, fac: pd.DataFrame, demand: Cells, reacher: Reacher, cost: np.ndarray,
             fixed: np.ndarray, *, max_new: int | None, budget: float | None,
             type_for_reach: str | None = None) -> SitingProblem:
    pairs = _pairs(fac, demand, reacher)
    return SitingProblem.from_pairs(pairs[0], pairs[1], pairs[2], demand=service.demand,
                                    capacity=fac["capacity_households"].to_numpy(float), cost=cost,
                                    fixed=fixed, max_new=max_new, budget=budget)


def _pairs(fac: pd.DataFrame, demand: Cells, reacher: Reacher):
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


def _site(service: _Service, siting: SitingStep, index: int, *, demand: Cells, reacher: Reacher,
          region, stored: pd.DataFrame, settlements, params: dict, metric: str, time_limit: float) -> None:
    """One siting step: candidates, the problem with the open facilities fixed, the solve(s)."""
    modes = frozenset(siting.service_modes)
    on_network = None if SERVICE_OF_TYPE[siting.type] == "offsite" else \
        (lambda xy: reacher.on_network(xy, modes))
    cand, removed = candidates(siting, region=region, stored=stored, settlements=settlements, params=params,
                               metric_crs=metric, on_network=on_network,
                               nodes_xy=reacher.nodes(modes) if "nodes" in siting.candidates else None)
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
                        "capacity_households": [_households_of(c, u, params, siting.type, n)
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
    problem = _problem(service, fac, demand, reacher, priced["capex_idr"].to_numpy(), fixed,
                       max_new=siting.max_new, budget=siting.budget_idr)
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


def _final(service: _Service, demand: Cells, reacher: Reacher) -> None:
    """The assignment of the demand to all the plan's facilities, and to the fixed ones alone."""
    if service.fac.empty:
        return
    fac = service.fac
    service.problem = _problem(service, fac, demand, reacher, np.zeros(len(fac)), np.ones(len(fac), bool),
                               max_new=0, budget=None)
    everything, fixed = np.ones(len(fac), bool), fac["role"].eq("fixed").to_numpy()
    service.final = _as_solution(everything, assign(service.problem, everything))
    service.now = _as_solution(fixed, assign(service.problem, fixed))


def _as_solution(open_: np.ndarray, flow: np.ndarray) -> SitingSolution:
    """An assignment (``assignment`` module) of the ``open_`` facilities, as a solution."""
    return SitingSolution(method="assignment", open=open_.copy(), chosen=np.empty(0, np.int64),
                          covered=float(flow.sum()), baseline=0.0, assigned=flow, new_cost=0.0, seconds=0.0,
                          status="Optimal", mip_gap=0.0)


def _phase_flows(services: dict[str, _Service], fac: pd.DataFrame, demand: Cells) -> None:
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
        s.final = _as_solution(np.ones(len(ph), bool), flows[2])


# ---- the plan -----------------------------------------------------------------------------------

def _plan_facilities(services: dict[str, _Service], params: dict) -> pd.DataFrame:
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


def _cell_flow(service: _Service, sol: SitingSolution | None, n: int) -> np.ndarray:
    if sol is None or service.problem is None:
        return np.zeros(n)
    return np.bincount(service.problem.pair_demand, weights=sol.assigned, minlength=n)


def _village_plan(demand: Cells, services: dict[str, _Service], fac: pd.DataFrame, villages: pd.DataFrame,
                  risk: pd.Series, targets: pd.DataFrame, plan: Plan, params: dict) -> pd.DataFrame:
    """Per village: needs, coverage now and with the plan, newly aman, gap to the plan's target,
    cost per person, reachability, EHRA class."""
    c = demand.frame
    n = len(c)
    now = {s: _cell_flow(services[s], services[s].now, n) for s in SERVICE_ORDER}
    end = {s: _cell_flow(services[s], services[s].final, n) for s in SERVICE_ORDER}
    newly = _newly_aman(c, end)
    cell = pd.DataFrame({"village_code": c["village_code"], "covered_now": _covered(c, now),
                         "covered_end": _covered(c, end), "newly_aman": newly,
                         "newly_layak": _newly_layak(c, newly), "tanks": _tanks(c, _newly_lltt(c, end["lltt"])),
                         "reachable": _reachable(services, n)})
    per = cell.groupby("village_code").sum()
    v = village_needs(demand).set_index("village_code").join(per)
    target_pct = _plan_target(targets, plan)
    have = v["aman"] if plan.target.indicator == "aman_pct" else _layak(v)
    v["gap"] = np.maximum(0.0, np.ceil(target_pct / 100.0 * v["households"] - have - 1e-9)).astype(int)
    v["newly_covered"] = np.maximum(0.0, v["covered_end"] - v["covered_now"])
    v["reachable_share"] = np.where(v["households"] > 0, v["reachable"] / v["households"], 0.0)
    v["risk_class"] = risk.reindex(v.index).astype(float)
    v["capex_share_idr"] = _village_capex(services, fac, demand, params).reindex(v.index).fillna(0.0) + \
        v["tanks"] * value(params, "capex_septic_tank")
    people_per_hh = v["people"] / v["households"].clip(lower=1)
    newly_people = v["newly_aman"] * people_per_hh
    v["cost_per_person_idr"] = np.where(newly_people > 0, v["capex_share_idr"] / newly_people.clip(lower=1e-9),
                                        np.nan)
    return v.reset_index().merge(villages[["code", "name", "district_code"]], left_on="village_code",
                                 right_on="code", how="left").drop(columns="code")


def _covered(c: pd.DataFrame, flow: dict[str, np.ndarray]) -> np.ndarray:
    """Households per cell in reach of a service. Desludging and off-site connection serve
    disjoint groups; a public toilet counts only for open-defecation households that desludging
    does not reach (both may reach the same household: it is counted once)."""
    lltt_demand = (c["households"] - c["offsite"]).to_numpy(float)
    return flow["lltt"] + flow["offsite"] + np.minimum(flow["mck"], np.maximum(0.0, lltt_demand - flow["lltt"]))


def _newly_lltt(c: pd.DataFrame, flow: np.ndarray) -> np.ndarray:
    """Households that join scheduled desludging: coverage beyond those already aman."""
    return np.minimum(c["lltt"].to_numpy(float), np.maximum(0.0, flow - c["aman"].to_numpy(float)))


def _newly_aman(c: pd.DataFrame, flow: dict[str, np.ndarray]) -> np.ndarray:
    return _newly_lltt(c, flow["lltt"]) + np.minimum(c["offsite"].to_numpy(float), flow["offsite"])


def _tanks(c: pd.DataFrame, newly_lltt: np.ndarray) -> np.ndarray:
    """Septic tanks the households joining desludging need: their cell's share without a tank
    (the rule of the requirements table)."""
    lltt, tank = c["lltt"].to_numpy(float), c["tank"].to_numpy(float)
    return np.where(lltt > 0, newly_lltt * tank / np.maximum(lltt, 1e-12), 0.0)


def _newly_layak(c: pd.DataFrame, newly_aman: np.ndarray) -> np.ndarray:
    """Households the plan lifts to layak: those becoming aman are drawn from the cell's non-aman
    households in proportion, and the non-layak among them become layak."""
    households = c["households"].to_numpy(float)
    not_aman, not_layak = households - c["aman"].to_numpy(float), households - _layak(c).to_numpy(float)
    return np.where(not_aman > 0, newly_aman * not_layak / np.maximum(not_aman, 1e-12), 0.0)


def _layak(v: pd.DataFrame) -> pd.Series:
    return v["aman"] + v["layak_sendiri"] + v["layak_bersama"]


def _reachable(services: dict[str, _Service], n: int) -> np.ndarray:
    """Households of each cell within reach of a facility of the plan (any service)."""
    c = np.zeros(n)
    for s in services.values():
        if s.problem is not None and len(s.problem.pair_demand):
            cells_in = np.unique(s.problem.pair_demand)
            c[cells_in] = np.maximum(c[cells_in], s.demand[cells_in])
    return c


def _plan_target(targets: pd.DataFrame, plan: Plan) -> float:
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


def _village_capex(services: dict[str, _Service], fac: pd.DataFrame, demand: Cells, params: dict) -> pd.Series:
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


def _phase_facilities_and_villages(services: dict[str, _Service], fac: pd.DataFrame, demand: Cells,
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
    fac_phase[new] = phasing.facility_phases(gain[new], worth[new], fac["capex_idr"].to_numpy(float)[new],
                                             params)
    earliest = np.full(len(vill), np.inf)
    np.minimum.at(earliest, v, fac_phase[f].astype(float))
    return fac_phase, phasing.village_phases(earliest)


def _phases(services: dict[str, _Service], fac: pd.DataFrame, demand: Cells, vill: pd.DataFrame,
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
        covered = _covered(c, flow)
        covered_by[k] = pd.Series(covered).groupby(c["village_code"].to_numpy()).sum()
        is_new = fac["role"].eq("new") & fac["phase"].between(1, k)
        if k == 0:
            newly, tanks, capex, extra_trucks = np.zeros(n), 0.0, 0.0, 0
        else:
            newly = _newly_aman(c, flow)
            tanks = float(_tanks(c, _newly_lltt(c, flow["lltt"])).sum())
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
                     "layak_pct": 100.0 * (_layak(c).sum() + _newly_layak(c, newly).sum()) / total_hh,
                     "capex_idr": capex, "capex_cumulative_idr": capex_cum, "opex_idr_per_year": opex})
    vill = vill.copy()
    for k, col in ((1, "covered_phase1"), (2, "covered_phase2")):
        vill[col] = covered_by[k].reindex(vill["village_code"]).fillna(0.0).to_numpy()
    return pd.DataFrame(rows), vill, spent["trucks"]


def _one_way_minutes(lltt: _Service) -> float:
    """Mean one-way minutes of the households on scheduled desludging (final assignment)."""
    if lltt.final is None or lltt.final.assigned.sum() <= 0:
        return 0.0
    return float(np.average(lltt.problem.pair_minutes, weights=lltt.final.assigned))


# ---- money, summary, storage --------------------------------------------------------------------

def _money(services: dict[str, _Service], fac: pd.DataFrame, vill: pd.DataFrame, params: dict,
           calibration: cal.Calibration, *, extra_trucks: int) -> tuple[dict, dict]:
    """The fleet beyond the depots' trucks (``extra_trucks``, bought over the phases), investment
    by item, funding, tariffs and unit costs."""
    lltt = services["lltt"]
    if lltt.final is not None:
        flow, minutes = lltt.final.assigned, lltt.problem.pair_minutes
    else:
        flow, minutes = np.zeros(0), np.zeros(0)
    lltt_households = float(flow.sum())
    one_way = _one_way_minutes(lltt)
    round_trip = 2.0 * one_way
    needed = finance.fleet_needed(lltt_households, round_trip, calibration.trip_model, params) \
        if lltt_households else 0.0
    have = float(fac.loc[fac["service"].eq("lltt"), "trucks"].sum())
    extra = int(extra_trucks)
    fleet = {"institution_type": mapping(params, "institution_of_type").get("desludging_depot", "uptd"),
             "trucks_needed": needed, "trucks_in_plan": have, "trucks": float(extra),
             "staff": extra * value(params, "staff_per_truck"),
             "capex_idr": extra * value(params, "capex_truck"),
             "opex_idr_per_year": extra * value(params, "opex_truck_fixed")}
    new = fac["role"].eq("new")
    capex = {kind: float(fac.loc[new & fac["type"].eq(kind), "capex_idr"].sum()
                         - fac.loc[new & fac["type"].eq(kind), "capex_trucks_idr"].sum())
             for kind in ("iplt", "desludging_depot", "transfer_station", "ipal_komunal", "mck")}
    capex["trucks"] = float(fac.loc[new, "capex_trucks_idr"].sum()) + fleet["capex_idr"]
    capex["septic_tanks"] = float(vill["tanks"].sum()) * value(params, "capex_septic_tank")
    total_capex = sum(capex.values())
    lltt_rows = fac["service"].eq("lltt")
    lltt_opex = float(fac.loc[lltt_rows, "opex_idr_per_year"].sum()) + fleet["opex_idr_per_year"]
    lltt_capex = float(fac.loc[lltt_rows & new, "capex_idr"].sum()) + fleet["capex_idr"]
    annual = lltt_opex + value(params, "tariff_capex_recovery") * lltt_capex / value(params, "asset_life_years")
    wtp = next((r.observed for r in calibration.rows if r.key == "willingness_to_pay"), None)
    tariff = finance.tariffs(annual_cost=annual, lltt_households=flow, one_way_minutes=minutes,
                             params=params, wtp=wtp)
    newly_aman = float(vill["newly_aman"].sum())
    newly_layak = float(vill["newly_layak"].sum())
    people_per_hh = float(vill["people"].sum()) / max(float(vill["households"].sum()), 1.0)
    opex_total = float(fac["opex_idr_per_year"].sum()) + fleet["opex_idr_per_year"]
    covered = float(vill["covered_end"].sum())
    money = {"capex_by_item_idr": capex, "capex_total_idr": total_capex,
             "opex_total_idr_per_year": opex_total, "funding_idr": finance.funding(capex, params),
             "tariff": tariff, "mean_one_way_min": one_way, "mean_round_trip_min": round_trip,
             "capex_per_household_newly_aman_idr": total_capex / newly_aman if newly_aman else None,
             "capex_per_person_newly_aman_idr": total_capex / (newly_aman * people_per_hh) if newly_aman else None,
             "capex_per_person_newly_layak_idr": total_capex / (newly_layak * people_per_hh) if newly_layak else None,
             "opex_per_household_served_idr_per_year": opex_total / covered if covered else None,
             "newly_aman_households": newly_aman, "newly_layak_households": newly_layak,
             "new_septic_tanks": float(vill["tanks"].sum())}
    return fleet, money


def _summary(region: str, region_name: str, plan: Plan, services: dict[str, _Service], fac: pd.DataFrame,
             vill: pd.DataFrame, phases: pd.DataFrame, money: dict, fleet: dict, inst: list[dict],
             weights: dict, score_notes: list[str], illustrative: bool, params: dict) -> dict:
    end, now = phases.iloc[-1], phases.iloc[0]
    treatment = _treatment(fac, params)
    notes = ["illustrative data: the demo region and its pilot are generated"] if illustrative else []
    notes.append("unit costs are parameters; the shipped values are placeholders unless the parameter set "
                 "replaces them (see each parameter's source)")
    if treatment["m3_per_day_needed"] > treatment["m3_per_day_in_plan"] + 1e-9:
        notes.append(f"the plan's IPLTs treat {treatment['m3_per_day_in_plan']:.1f} m3/day but the households "
                     f"it puts on scheduled desludging bring {treatment['m3_per_day_needed']:.1f} m3/day: "
                     "site or enlarge an IPLT")
    return {
        "region": {"code": region, "name": region_name},
        "target": {"indicator": plan.target.indicator, "year": plan.target.year},
        "calibration_used": plan.calibration,
        "households": int(vill["households"].sum()), "people": int(vill["people"].sum()),
        "headline": {"coverage_now_pct": round(float(now["coverage_pct"]), 3),
                     "coverage_plan_pct": round(float(end["coverage_pct"]), 3),
                     "aman_now_pct": round(float(now["aman_pct"]), 3),
                     "aman_plan_pct": round(float(end["aman_pct"]), 3),
                     "new_facilities": int(fac["role"].eq("new").sum()),
                     "extra_trucks": int(fleet["trucks"]),
                     "capex_total_idr": money["capex_total_idr"],
                     "opex_total_idr_per_year": money["opex_total_idr_per_year"],
                     "flat_tariff_idr": money["tariff"].get("flat_tariff_idr"),
                     "subsidy_gap_idr_per_year": money["tariff"].get("subsidy_gap_idr_per_year"),
                     "villages_short_term": int((vill["phase"] == 1).sum()),
                     "villages_medium_term": int((vill["phase"] == 2).sum()),
                     "villages_later": int((vill["phase"] == 3).sum())},
        "siting": [record for s in services.values() for record in s.steps],
        "finance": money, "fleet": fleet, "institutions": inst, "treatment": treatment,
        "priority": {"weights": weights, "notes": score_notes},
        "illustrative": bool(illustrative), "notes": notes,
    }


def _treatment(fac: pd.DataFrame, params: dict) -> dict:
    """Sludge the plan's desludging brings against the plan's IPLT capacity (siting sizes depots
    by their trucks; whether the plants can treat what the trucks bring is checked here)."""
    served = float(fac.loc[fac["service"].eq("lltt"), "served_households"].sum())
    per_day = served / value(params, "desludging_interval") / value(params, "working_days_per_year")
    return {"m3_per_day_needed": per_day * value(params, "sludge_per_emptying"),
            "m3_per_day_in_plan": float(fac.loc[fac["type"].eq("iplt"), "m3_per_day"].sum())}


def _write(conn: Connection, run_id: int, fac: pd.DataFrame, vill: pd.DataFrame, req: pd.DataFrame,
           phases: pd.DataFrame, metric: str) -> None:
    to_wgs = Transformer.from_crs(metric, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(fac["x"].to_numpy(float), fac["y"].to_numpy(float))
    rows = pd.DataFrame({
        "run_id": run_id, "key": np.arange(1, len(fac) + 1),
        "facility_id": fac["facility_id"].astype("Int64"), "name": fac["name"], "type": fac["type"],
        "role": fac["role"], "origin": fac["origin"], "phase": fac["phase"].astype(int),
        "pick_order": fac["pick_order"].astype("Int64"), "capacity": fac["capacity"].astype(float),
        "capacity_unit": fac["capacity_unit"], "capacity_households": fac["capacity_households"].astype(float),
        "served_households": fac["served_households"].astype(float), "capex_idr": fac["capex_idr"],
        "opex_idr_per_year": fac["opex_idr_per_year"], "institution_type": fac["institution_type"],
        "staff": fac["staff"], "trucks": fac["trucks"],
        "service_modes": [sorted(m) for m in fac["modes"]], "geom": shapely.points(lon, lat)})
    copy_frame(conn, "scaleup_facility", rows)
    cols = ["village_code", "households", "people", "covered_now", "covered_phase1", "covered_phase2",
            "reachable_share", "risk_class", "cost_per_person_idr", "score", "rank", "phase"]
    v = vill[cols].assign(run_id=run_id, need_tank=vill["tank"].astype(int), need_lltt=vill["lltt"].astype(int),
                          need_offsite=vill["offsite"].astype(int))
    v["risk_class"] = v["risk_class"].astype("Int64")
    copy_frame(conn, "scaleup_village", v)
    copy_frame(conn, "scaleup_requirement", req.assign(run_id=run_id))
    copy_frame(conn, "scaleup_phase", phases.assign(run_id=run_id))


def _json(obj) -> str:
    return json.dumps(_clean(obj), default=str, allow_nan=False)


def _clean(obj):
    """numpy scalars and arrays as Python values; NaN and infinities as null (JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [_clean(v) for v in obj]
    if isinstance(obj, frozenset | set):
        return sorted(obj)
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    return obj
