"""What reaching each target needs, per district of the region and in total (docs/domain.md
sections 3 and 5): households to serve by service type, septic tanks to build, sludge per day,
truck trips and trucks by size, IPLT capacity needed against the existing, IPAL komunal units.

Per area and target row (share ``p`` of households ``H``):
- ``aman_pct``: needed = ceil(p H - aman now); they split between off-site connection and
  scheduled desludging as the area's needs do (``demand`` module), and the desludged ones without
  a tank need one. Households on desludging at the target = the new ones + those aman now (the
  rule assumes today's aman households are desludged; an area with off-site systems counts its
  connections among them);
- ``layak_pct``: needed = ceil(p H - layak now), each needing a toilet with a tank;
- ``babs_pct``: needed = ceil(babs now - p H), each needing a toilet with a tank.
Sludge m3/day = households on desludging x m3 per emptying / (interval x working days/year);
trips per day = sludge m3/day / truck volume; trucks of size s = sludge m3/day / (s x trips per
truck-day at the plan's mean round trip), the volume rule of docs/domain.md §5's capacity model;
IPLT m3/day needed = the sludge per day.
"""

from __future__ import annotations

import math

import pandas as pd

from gis_service.analysis.parameters import numbers, value
from gis_service.analysis.scaleup.cells import Cells

COLUMNS = ["area_code", "indicator", "year", "level", "target_pct", "households", "households_needed",
           "new_tanks", "lltt_households", "offsite_households", "sludge_m3_per_day", "trips_per_day",
           "trucks", "iplt_m3_per_day_needed", "iplt_m3_per_day_existing", "ipal_units_needed",
           "ipal_units_existing"]


def requirements(demand: Cells, villages: pd.DataFrame, fac: pd.DataFrame, targets: pd.DataFrame,
                 params: dict, trip_model, *, mean_round_trip: float, region: str,
                 region_level: str) -> pd.DataFrame:
    """One row per (area, target): the districts of the region, and the region itself (several
    areas, ``region_level`` 'group', count as one region under their comma-separated codes)."""
    c = demand.frame.merge(villages[["code", "district_code"]], left_on="village_code", right_on="code")
    areas = [(region, region_level, c)]
    if region_level in ("province", "regency", "group"):
        areas += [(code, "district", part) for code, part in c.groupby("district_code", sort=True)]
    fixed = fac[fac["role"].eq("fixed")]
    round_trip = mean_round_trip if mean_round_trip > 0 else value(params, "lltt_max_travel_min")
    trips_per_truck = float(trip_model.trips_per_day(round_trip))
    rows = []
    for code, level, part in areas:
        inside = tuple(f"{c}." for c in code.split(","))  # a group region: several codes
        at = fixed["village_code"].fillna("")
        mine = fixed[at.str.startswith(inside) | at.isin(code.split(","))]
        existing_m3 = float(mine.loc[mine["type"].eq("iplt"), "m3_per_day"].sum())
        existing_ipal = int(mine["type"].eq("ipal_komunal").sum())
        for t in targets.itertuples():
            if t.indicator not in ("aman_pct", "layak_pct", "babs_pct"):
                continue
            rows.append(_row(code, level, part, t, params, trips_per_truck, existing_m3, existing_ipal))
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(code: str, level: str, part: pd.DataFrame, t, params: dict, trips_per_truck: float,
         existing_m3: float, existing_ipal: int) -> dict:
    h = float(part["households"].sum())
    aman = float(part["aman"].sum())
    layak = aman + float(part["layak_sendiri"].sum() + part["layak_bersama"].sum())
    p = float(t.value) / 100.0
    offsite = lltt_new = tanks = 0
    if t.indicator == "aman_pct":
        needed = max(0, math.ceil(p * h - aman - 1e-9))
        not_aman = float(part["offsite"].sum() + part["lltt"].sum())
        offsite = int(round(needed * float(part["offsite"].sum()) / not_aman)) if not_aman else 0
        lltt_new = needed - offsite
        lltt_need = float(part["lltt"].sum())
        tanks = int(round(lltt_new * float(part["tank"].sum()) / lltt_need)) if lltt_need else 0
        on_lltt = lltt_new + aman
    else:
        short = (p * h - layak) if t.indicator == "layak_pct" else (float(part["babs"].sum()) - p * h)
        needed = max(0, math.ceil(short - 1e-9))
        tanks, on_lltt = needed, 0.0
    sludge = value(params, "sludge_per_emptying")
    m3_per_day = on_lltt / value(params, "desludging_interval") / value(params, "working_days_per_year") * sludge
    trucks = {f"{size:g}": int(math.ceil(m3_per_day / (size * trips_per_truck) - 1e-9)) if trips_per_truck > 0
              else None for size in numbers(params, "truck_sizes_m3")}
    return {"area_code": code, "indicator": t.indicator, "year": int(t.year), "level": level,
            "target_pct": float(t.value), "households": int(h), "households_needed": int(needed),
            "new_tanks": int(tanks), "lltt_households": int(round(on_lltt)), "offsite_households": int(offsite),
            "sludge_m3_per_day": round(m3_per_day, 3),
            "trips_per_day": round(m3_per_day / value(params, "truck_volume"), 3),
            "trucks": trucks, "iplt_m3_per_day_needed": round(m3_per_day, 3),
            "iplt_m3_per_day_existing": existing_m3,
            "ipal_units_needed": int(math.ceil(offsite / value(params, "ipal_komunal_households") - 1e-9)),
            "ipal_units_existing": existing_ipal}
