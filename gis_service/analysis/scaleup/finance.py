"""Costs and finance of a plan: investment and running cost per facility and fleet, cost per
household and per person, the tariff that recovers the cost (flat, and by distance band as in
Kebumen's <= 15 km / > 15 km scheme), the subsidy gap, and the split by funding line
(APBN / APBD province / APBD district / other).

Every unit cost is a parameter (``config/parameters/default.yml``, with its source); nothing here
holds a number of its own. Investment is counted for new facilities, the fleet the plan adds and
the septic tanks it needs; running cost for every facility of the plan. Formulas:

- trips per emptying = sludge per emptying / truck volume (the volume rule of docs/domain.md §5's
  capacity model, which sizes depots too); emptyings per year = households on scheduled
  desludging / interval; every desludging facility (an IPLT's own trucks too) pays its trips;
- km per trip = 2 x one-way minutes x travel speed / 60;
- annual cost of desludging = running cost of IPLTs, depots, landings and fleet + the share
  ``tariff_capex_recovery`` of their investment / asset life;
- flat tariff = annual cost / (emptyings x collection rate); band tariff = (the cost per emptying
  without driving + the band's mean driving cost per emptying) / collection rate;
- subsidy gap = annual cost - the fees the configured tariff bands collect.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gis_service.analysis.parameters import (
    capacity_households,
    households_per_year_per_m3,
    mapping,
    value,
)
from gis_service.analysis.scaleup import calibration as cal
from gis_service.analysis.scaleup.services import ENLARGEMENT, Service, mean_one_way_minutes

LLTT_TYPES = ("iplt", "desludging_depot", "transfer_station")
FUNDING_LINES = ("apbn", "dak", "apbd_province", "apbd_district", "other")  # DAK: Dana Alokasi Khusus


def iplt_m3_per_day(capacity: float | None, unit: str | None, params: dict) -> float:
    """A plant's capacity in m3/day whatever unit it was given in."""
    if capacity is None or unit is None or (isinstance(capacity, float) and math.isnan(capacity)):
        return 0.0
    if unit == "m3_per_day":
        return float(capacity)
    if unit in ("households", "persons"):
        return capacity_households(capacity, unit, params) / households_per_year_per_m3(params)
    raise ValueError(f"an IPLT's capacity in {unit} cannot be read as m3/day")


def trips_per_emptying(params: dict) -> float:
    return value(params, "sludge_per_emptying") / value(params, "truck_volume")


def facility_costs(fac: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Adds trucks, staff, capex_idr (new facilities only) and opex_idr_per_year to a plan's
    facilities (type, role, capacity, capacity_unit, served_households, mean_minutes)."""
    out = fac.copy()
    kind, new = out["type"].to_numpy(), out["role"].eq("new").to_numpy()
    trucks = np.where(out["capacity_unit"].eq("trucks"), out["capacity"].astype(float).fillna(0.0), 0.0)
    m3 = np.array([iplt_m3_per_day(c, u, params) if t == "iplt" else 0.0
                   for t, c, u in zip(kind, out["capacity"], out["capacity_unit"])])
    served = out["served_households"].astype(float).to_numpy()
    cap_hh = out["capacity_households"].astype(float).fillna(0.0).to_numpy()
    trips = served / value(params, "desludging_interval") * trips_per_emptying(params)
    km = trips * 2.0 * out["mean_minutes"].astype(float).fillna(0.0).to_numpy() * \
        value(params, "travel_speed_kmh") / 60.0
    driving = np.where(np.isin(kind, LLTT_TYPES),
                       trips * value(params, "opex_per_trip") + km * value(params, "opex_per_km"), 0.0)
    capex = np.select(
        [kind == "iplt", kind == "desludging_depot", kind == "transfer_station", kind == "ipal_komunal",
         kind == "mck"],
        [m3 * value(params, "capex_iplt_per_m3_day"),
         value(params, "capex_depot") + trucks * value(params, "capex_truck"),
         value(params, "capex_transfer_station") + trucks * value(params, "capex_truck"),
         cap_hh * value(params, "capex_ipal_komunal_per_household"),
         np.full(len(out), value(params, "capex_mck"))], 0.0)
    opex = np.select(
        [kind == "iplt", np.isin(kind, ("desludging_depot", "transfer_station")), kind == "ipal_komunal",
         kind == "mck"],
        [m3 * value(params, "opex_iplt_per_m3_day") + driving,
         value(params, "opex_depot") + trucks * value(params, "opex_truck_fixed") + driving,
         served * value(params, "opex_ipal_komunal_per_household"),
         np.full(len(out), value(params, "opex_mck"))], 0.0)
    staff = np.select(
        [kind == "iplt", np.isin(kind, ("desludging_depot", "transfer_station")), kind == "ipal_komunal",
         kind == "mck"],
        [np.full(len(out), value(params, "staff_per_iplt")),
         value(params, "staff_per_depot") + trucks * value(params, "staff_per_truck"),
         np.full(len(out), value(params, "staff_per_ipal_komunal")),
         np.full(len(out), value(params, "staff_per_ipal_komunal"))], 0.0)
    out["trucks"] = trucks
    out["staff"] = np.where(out["origin"].eq(ENLARGEMENT).to_numpy(), 0.0, staff)  # the plant's own staff
    out["capex_idr"] = np.where(new, capex, 0.0)
    out["capex_trucks_idr"] = np.where(new, trucks * value(params, "capex_truck"), 0.0)
    out["opex_idr_per_year"] = opex
    out["m3_per_day"] = m3
    out["trips_per_year"] = np.where(np.isin(kind, LLTT_TYPES), trips, 0.0)
    out["km_per_year"] = np.where(np.isin(kind, LLTT_TYPES), km, 0.0)
    return out


def fleet_needed(lltt_households: float, mean_round_trip_min: float, trip_model, params: dict) -> float:
    """Trucks of ``truck_volume`` that keep ``lltt_households`` on the desludging interval."""
    per_day = float(trip_model.trips_per_day(mean_round_trip_min))
    emptyings_per_truck_year = per_day * value(params, "working_days_per_year") / trips_per_emptying(params)
    return lltt_households / value(params, "desludging_interval") / emptyings_per_truck_year \
        if emptyings_per_truck_year > 0 else math.inf


def tariffs(*, annual_cost: float, lltt_households: np.ndarray, one_way_minutes: np.ndarray,
            params: dict, wtp: float | None = None) -> dict:
    """Cost-recovery tariffs (flat and by distance band) and the subsidy gap, from the households
    on scheduled desludging and their one-way minutes to the serving facility."""
    interval, rate = value(params, "desludging_interval"), value(params, "collection_rate")
    if not 0 < rate <= 1:
        raise ValueError(f"collection_rate must be above 0 and at most 1 (got {rate}); set it in "
                         "config/parameters/default.yml or the scenario's parameter set")
    emptyings = lltt_households / interval
    total = float(emptyings.sum())
    if total <= 0:
        return {"emptyings_per_year": 0.0, "annual_cost_idr": annual_cost}
    km = one_way_minutes * value(params, "travel_speed_kmh") / 60.0
    driving = trips_per_emptying(params) * 2.0 * km * value(params, "opex_per_km")  # per emptying
    base = (annual_cost - float((driving * emptyings).sum())) / total
    band_km = value(params, "tariff_band_distance")
    near = km <= band_km
    out = {"emptyings_per_year": total, "annual_cost_idr": annual_cost,
           "cost_per_emptying_idr": annual_cost / total, "flat_tariff_idr": annual_cost / total / rate,
           "band_km": band_km, "bands": []}
    revenue = 0.0
    for label, mask, configured in (("near", near, value(params, "tariff_band_near")),
                                    ("far", ~near, value(params, "tariff_band_far"))):
        n = float(emptyings[mask].sum())
        mean_driving = float(np.average(driving[mask], weights=emptyings[mask])) if n > 0 else 0.0
        revenue += n * configured * rate
        out["bands"].append({"band": label, "emptyings_per_year": n,
                             "tariff_idr": (base + mean_driving) / rate,
                             "configured_tariff_idr": configured})
    out["revenue_at_configured_idr"] = revenue
    out["subsidy_gap_idr_per_year"] = max(0.0, annual_cost - revenue)
    if wtp is not None:
        out["willingness_to_pay_idr"] = wtp
        out["subsidy_gap_at_wtp_idr_per_year"] = max(0.0, annual_cost - total * wtp * rate)
    return out


def funding(capex_by_item: dict[str, float], params: dict) -> dict[str, dict[str, float]]:
    """Investment per item split over the funding lines; every item must have a split that sums
    to 1 in ``funding_split``."""
    split = mapping(params, "funding_split")
    out: dict[str, dict[str, float]] = {}
    for item, amount in capex_by_item.items():
        if amount == 0:
            continue
        shares = split.get(item)
        if shares is None:
            raise KeyError(f"funding_split has no row for '{item}': add its shares "
                           f"({', '.join(FUNDING_LINES)}) to config/parameters/default.yml")
        if abs(sum(float(v) for v in shares.values()) - 1.0) > 1e-6:
            raise ValueError(f"funding_split['{item}'] shares sum to {sum(shares.values())}, not 1")
        out[item] = {line: amount * float(shares.get(line, 0.0)) for line in FUNDING_LINES}
    out["total"] = {line: sum(row[line] for row in out.values()) for line in FUNDING_LINES}
    return out


def plan_money(services: dict[str, Service], fac: pd.DataFrame, vill: pd.DataFrame, params: dict,
           calibration: cal.Calibration, *, extra_trucks: int) -> tuple[dict, dict]:
    """The fleet beyond the depots' trucks (``extra_trucks``, bought over the phases), investment
    by item, funding, tariffs and unit costs."""
    lltt = services["lltt"]
    if lltt.final is not None:
        flow, minutes = lltt.final.assigned, lltt.problem.pair_minutes
    else:
        flow, minutes = np.zeros(0), np.zeros(0)
    lltt_households = float(flow.sum())
    one_way = mean_one_way_minutes(lltt)
    round_trip = 2.0 * one_way
    needed = fleet_needed(lltt_households, round_trip, calibration.trip_model, params) \
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
    tariff = tariffs(annual_cost=annual, lltt_households=flow, one_way_minutes=minutes,
                             params=params, wtp=wtp)
    newly_aman = float(vill["newly_aman"].sum())
    newly_layak = float(vill["newly_layak"].sum())
    people_per_hh = float(vill["people"].sum()) / max(float(vill["households"].sum()), 1.0)
    opex_total = float(fac["opex_idr_per_year"].sum()) + fleet["opex_idr_per_year"]
    covered = float(vill["covered_end"].sum())
    money = {"capex_by_item_idr": capex, "capex_total_idr": total_capex,
             "opex_total_idr_per_year": opex_total, "funding_idr": funding(capex, params),
             "tariff": tariff, "mean_one_way_min": one_way, "mean_round_trip_min": round_trip,
             "capex_per_household_newly_aman_idr": total_capex / newly_aman if newly_aman else None,
             "capex_per_person_newly_aman_idr": total_capex / (newly_aman * people_per_hh) if newly_aman else None,
             "capex_per_person_newly_layak_idr": total_capex / (newly_layak * people_per_hh) if newly_layak else None,
             "opex_per_household_served_idr_per_year": opex_total / covered if covered else None,
             "newly_aman_households": newly_aman, "newly_layak_households": newly_layak,
             "new_septic_tanks": float(vill["tanks"].sum())}
    return fleet, money
