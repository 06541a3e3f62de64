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
A depot or landing is sited on its own trucks' capacity, and all desludging facilities together
serve no more households than the plan's IPLTs treat (``treatment`` module): the plan never
counts sludge its plants cannot take.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pyproj import Transformer
from sqlalchemy import Engine, text

from gis_service.analysis import network as net
from gis_service.analysis.coverage import has_illustrative_data
from gis_service.analysis.demand import load_demand
from gis_service.analysis.parameters import (
    SERVICE_OF_TYPE,
    load_parameter_values,
)
from gis_service.analysis.scaleup import calibration as cal
from gis_service.analysis.scaleup import institutions, phasing, treatment
from gis_service.analysis.scaleup.cells import cells
from gis_service.analysis.scaleup.finance import plan_money
from gis_service.analysis.scaleup.outcomes import village_outcomes
from gis_service.analysis.scaleup.phasing import (
    phase_facilities_and_villages,
    plan_phases,
    split_phase_flows,
)
from gis_service.analysis.scaleup.reach import Reacher
from gis_service.analysis.scaleup.requirements import requirements
from gis_service.analysis.scaleup.scenarios import dump, scenario_plan
from gis_service.analysis.scaleup.services import (
    Service,
    build_services,
    mean_one_way_minutes,
    with_trip_capacity,
)
from gis_service.analysis.scaleup.sites import final_assignment, plan_facilities, site_step
from gis_service.analysis.scaleup.spec import Plan
from gis_service.analysis.scaleup.store import (
    read_fixed_facilities,
    read_region,
    read_risk,
    read_scenario,
    read_settlements,
    read_stored_candidates,
    read_targets,
    read_villages,
    to_json,
    write_desludging_flows,
    write_plan,
)
from gis_service.settings import Settings, get_settings


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
        scenario = read_scenario(conn, options.scenario)
        plan = scenario_plan(scenario["plan"])
        if options.calibration:
            plan = plan.model_copy(update={"calibration": options.calibration})
        region = options.region or scenario["region_code"] or region_cfg.code
        codes = [c.strip() for c in region.split(",") if c.strip()]
        region = ",".join(codes)
        region_geom, region_name, region_level = read_region(conn, codes, metric)
        params = load_parameter_values(conn, parameter_set_id=scenario["parameter_set_id"],
                                       config_dir=settings.config_dir)
        calibration = cal.calibrate(cal.pilot_records(conn, region_codes=codes, pilot=plan.pilot), params,
                                    trucks=cal.pilot_trucks(conn))
        used = calibration.apply(params) if plan.calibration == "pilot" else dict(params)
        used = with_trip_capacity(used, calibration.trip_model)
        villages = read_villages(conn, codes)
        households = load_demand(conn, "households", to_metric=to_metric, metric_crs=metric, params=used,
                                 as_of=date.today()).households
        households = households[households["village_code"].isin(villages["code"])]
        if households.empty:
            raise ValueError(f"no households in {region} ({region_name}): import household points first "
                             "(gis-service import households FILE)")
        urban = set(villages.loc[villages["urban"] == True, "code"])
        demand = cells(households, urban, used, cell_m=plan.demand_cell_m)
        fixed = read_fixed_facilities(conn, scenario["id"], to_metric)
        stored = read_stored_candidates(conn, to_metric)
        settlements = read_settlements(conn, metric)
        targets = read_targets(conn, codes)
        risk = read_risk(conn, codes)
        edges = net.load_edges(conn, metric_crs=metric)
        illustrative = has_illustrative_data(conn)
        lap("load")

        step("siting")
        reacher = Reacher(edges, net.NetworkParams.from_config(settings.network_config()), used)
        services = build_services(demand, fixed, used)
        for i, siting in enumerate(plan.siting):
            if options.model:
                siting = siting.model_copy(update={"model": options.model})
            site_step(services[SERVICE_OF_TYPE[siting.type]], siting, i, demand=demand, reacher=reacher,
                  region=region_geom, stored=stored, settlements=settlements, params=used, metric=metric,
                  time_limit=options.time_limit)
        for service in services.values():
            final_assignment(service, demand, reacher, used)
        lap("siting")

        step("costs, phases and requirements")
        fac = plan_facilities(services, used)
        fac["institution_type"] = institutions.assign(fac, used)
        vill = village_outcomes(demand, services, fac, villages, risk, targets, plan, used)
        score, weights, score_notes = phasing.scores(vill, used)
        vill["score"] = np.round(score, 4)
        vill["rank"] = phasing.ranks(score, vill["gap"].to_numpy(float))
        fac["phase"], vill["phase"] = phase_facilities_and_villages(services, fac, demand, vill, used)
        split_phase_flows(services, fac, demand)  # the final assignment keeps every earlier phase's service
        fac = plan_facilities(services, used).assign(institution_type=fac["institution_type"].to_numpy(),
                                                      phase=fac["phase"].to_numpy())
        vill = village_outcomes(demand, services, fac, villages, risk, targets, plan, used).merge(
            vill[["village_code", "score", "rank", "phase"]], on="village_code", validate="one_to_one")
        phases, vill, bought = plan_phases(services, fac, demand, vill, plan, used, trip_model=calibration.trip_model,
                                       round_trip=2.0 * mean_one_way_minutes(services["lltt"]))
        fleet, money = plan_money(services, fac, vill, used, calibration, extra_trucks=bought)
        inst = institutions.table(fac, fleet)
        req = requirements(demand, villages, fac, targets, used, calibration.trip_model,
                           mean_round_trip=money["mean_round_trip_min"], region=region,
                           region_level=region_level)
        lap("plan")

        step("writing results")
        lltt_fac = fac[fac["service"].eq("lltt")].reset_index(drop=True)
        loads = treatment.iplt_load(services["lltt"], lltt_fac, used)
        treated = treatment.summary(services["lltt"], lltt_fac, loads, used)
        summary = _summary(region, region_name, plan, services, fac, vill, phases, money, fleet, inst,
                           weights, score_notes, illustrative, treated, loads)
        run_id = conn.execute(text(
            "INSERT INTO scaleup_run (scenario_id, scenario_name, region_code, plan, parameters, calibration, "
            "illustrative, summary) VALUES (:sid, :sname, :r, CAST(:plan AS jsonb), CAST(:p AS jsonb), "
            "CAST(:c AS jsonb), :ill, CAST(:s AS jsonb)) RETURNING id"),
            {"sid": scenario["id"], "sname": scenario["name"], "r": region, "plan": to_json(dump(plan)),
             "p": to_json(used), "c": to_json(calibration.as_dict()), "ill": illustrative,
             "s": to_json(summary)}).scalar_one()
        write_plan(conn, run_id, fac, vill, req, phases, metric)
        write_desludging_flows(conn, run_id, services["lltt"], demand.frame["village_code"].to_numpy())
        lap("write")
        conn.execute(text("UPDATE scaleup_run SET seconds = CAST(:s AS jsonb) WHERE id = :i"),
                     {"s": to_json(laps), "i": run_id})
    return ScaleupResult(run_id, summary, laps, fac, vill, req, phases)


def _summary(region: str, region_name: str, plan: Plan, services: dict[str, Service], fac: pd.DataFrame,
             vill: pd.DataFrame, phases: pd.DataFrame, money: dict, fleet: dict, inst: list[dict],
             weights: dict, score_notes: list[str], illustrative: bool, treated: dict,
             loads: list[dict]) -> dict:
    end, now = phases.iloc[-1], phases.iloc[0]
    notes = ["illustrative data: the demo region and its pilot are generated"] if illustrative else []
    notes.append("unit costs are parameters; the shipped values are placeholders unless the parameter set "
                 "replaces them (see each parameter's source)")
    if treated["shortfall_households"] > 0.5:
        notes.append(f"treatment limits the plan: {treated['shortfall_households']:,.0f} more households are in "
                     f"reach of desludging, but their {treated['shortfall_m3_per_day']:.1f} m3/day of sludge exceed "
                     "what the plan's IPLTs treat; they are not counted as served or aman (enlarge or site an "
                     "IPLT: a siting step of type iplt, candidates [enlarge] or new sites)")
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
        "finance": money, "fleet": fleet, "institutions": inst, "treatment": treated, "iplt_load": loads,
        "priority": {"weights": weights, "notes": score_notes},
        "illustrative": bool(illustrative), "notes": notes,
    }

