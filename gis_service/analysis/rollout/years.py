"""The roll-out year by year (docs/rollout.md, "Phases from the calendar"): years 1 to
``short_term_years`` are the short term, the rest up to ``medium_term_years`` the medium term.
Per year: what is built, the trucks the calendar needs and those bought, the septic tanks of the
households enrolling, investment per funding line (APBN, DAK, APBD province, APBD district,
other; ``funding_split``), running cost, revenue and the subsidy it leaves, and the district's
target for that year where one is loaded (its own SSK target over the national one).

Rules: a phase's new facilities are built in the phase's first year (the calendar counts them
from the phase's start); a truck is bought in the first year the calendar needs more than the
plan's depots hold, and stays; a household without a septic tank gets one in the year it enrols;
running cost is the running cost of every facility in service plus the bought trucks' fixed cost;
the subsidy is running cost less the calendar's revenue (the district's APBD covers it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gis_service.analysis.parameters import value
from gis_service.analysis.rollout.calendar import CalendarResult
from gis_service.analysis.scaleup.finance import FUNDING_LINES, funding
from gis_service.analysis.scaleup.store import read_targets


ITEMS = ("iplt", "desludging_depot", "transfer_station", "trucks", "ipal_komunal", "mck", "septic_tanks")


def rollout_years(conn: Connection, cal: CalendarResult, params: dict) -> pd.DataFrame:
    fac = pd.read_sql(text("SELECT name, type, role, phase, trucks, capex_idr, opex_idr_per_year FROM scaleup_facility "
                           "WHERE run_id = :r ORDER BY key"), conn, params={"r": cal.run_id})
    run = conn.execute(text("SELECT region_code FROM scaleup_run WHERE id = :r"), {"r": cal.run_id}).scalar_one()
    households = float(conn.execute(text("SELECT sum(households) FROM scaleup_village WHERE run_id = :r"),
                                    {"r": cal.run_id}).scalar() or 0)
    phase_aman = dict(conn.execute(text("SELECT phase, aman_pct FROM scaleup_phase WHERE run_id = :r"),
                                   {"r": cal.run_id}).all())
    targets = read_targets(conn, run.split(","))
    aman_targets = targets[targets["indicator"].eq("aman_pct")].set_index("year")
    short = int(value(params, "short_term_years"))
    truck_cost = value(params, "capex_truck")
    own = fac["trucks"].fillna(0).to_numpy(float)
    enrolled = pd.to_datetime(cal.households["enrol"])
    no_tank = cal.households["has_septic_tank"].eq(False).to_numpy()
    rows, bought = [], 0
    for y in cal.per_year.to_dict(orient="records"):
        k = int(y["year"])
        phase = 1 if k <= short else 2
        first_of_phase = k in (1, short + 1)
        new_now = fac["role"].eq("new") & fac["phase"].eq(phase) & first_of_phase
        in_service = fac["role"].eq("fixed") | (fac["role"].eq("new") & (fac["phase"] <= phase))
        lltt_in_service = in_service & fac["type"].isin(["iplt", "desludging_depot", "transfer_station"])
        held = int(own[lltt_in_service.to_numpy()].sum())
        buy = max(0, int(y["trucks"]) - held - bought)
        bought += buy
        tanks = int((no_tank & (enrolled >= pd.Timestamp(y["from"])) & (enrolled <= pd.Timestamp(y["until"]))).sum())
        items: dict[str, float] = {}
        for row in fac[new_now].itertuples():
            trucks_part = float(row.trucks or 0) * truck_cost
            items[row.type] = items.get(row.type, 0.0) + float(row.capex_idr) - trucks_part
            items["trucks"] = items.get("trucks", 0.0) + trucks_part
        items["trucks"] = items.get("trucks", 0.0) + buy * truck_cost
        items["septic_tanks"] = tanks * value(params, "capex_septic_tank")
        split = funding({k_: v for k_, v in items.items() if v > 0}, params)["total"] if any(
            v > 0 for v in items.values()) else {line: 0.0 for line in FUNDING_LINES}
        running = float(fac.loc[in_service, "opex_idr_per_year"].sum()) + bought * value(params, "opex_truck_fixed")
        year = pd.Timestamp(y["from"]).year
        target = aman_targets["value"].get(year)
        rows.append({
            "year": k, "calendar_year": year, "phase": phase,
            "built": "; ".join(fac.loc[new_now, "name"]),
            **{f"built_{kind}": "; ".join(fac.loc[new_now & fac["type"].eq(kind), "name"]) or "-"
               for kind in ("iplt", "desludging_depot", "transfer_station", "ipal_komunal", "mck")},
            **{f"{line}_idr": round(split[line]) for line in FUNDING_LINES},
            **{f"capex_{item}_idr": round(items.get(item, 0.0)) for item in ITEMS},
            "investment_idr": round(sum(split.values())),
            "trucks_in_service": int(y["trucks"]), "trucks_bought": buy, "septic_tanks": tanks,
            "running_cost_idr": round(running), "revenue_idr": round(float(y["revenue_idr"])),
            "subsidy_idr": round(max(0.0, running - float(y["revenue_idr"]))),
            "emptyings": int(y["emptyings"]), "households_enrolled": int(y["households_enrolled"]),
            "households_aman_desludging": int(y["households_aman_5y"]),
            "aman_pct_plan": round(float(phase_aman.get(phase, np.nan)), 3),
            "aman_target_pct": None if target is None else float(target),
            "aman_target_source": None if target is None else str(aman_targets["source"].get(year)),
            "households": int(households)})
    out = pd.DataFrame(rows)
    out["households_new"] = out["households_enrolled"].diff().fillna(out["households_enrolled"]).astype(int)
    return out
