"""The services a scale-up plan sites (scheduled desludging ``lltt``, IPAL komunal ``offsite``,
public toilets ``mck``): their demand per cell, fixed facilities and the capacity a new one gets."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gis_service.analysis.coverage import DEFAULT_MODES
from gis_service.analysis.parameters import (
    SERVICE_OF_TYPE,
    capacity_households,
    value,
)
from gis_service.analysis.scaleup import calibration as cal
from gis_service.analysis.scaleup.cells import Cells
from gis_service.analysis.siting import (
    SitingProblem,
    SitingSolution,
)

SERVICE_ORDER = ("lltt", "offsite", "mck")
ENLARGEMENT = "enlargement"  # origin of a module added to an existing IPLT at its own site


DEFAULT_CAPACITY = {"iplt": ("new_iplt_m3_per_day", "m3_per_day"),
                    "desludging_depot": ("new_depot_trucks", "trucks"),
                    "transfer_station": ("new_depot_trucks", "trucks"),
                    "ipal_komunal": ("ipal_komunal_households", "households"),
                    "mck": ("new_mck_households", "households")}


FACILITY_COLUMNS = ["facility_id", "name", "type", "role", "origin", "village_code", "x", "y", "capacity",
                    "capacity_unit", "capacity_households", "modes", "institution_type", "pick_order", "step"]


@dataclass
class Service:
    """One service's facilities in the plan (fixed first, new ones appended) and its demand."""

    name: str
    demand: np.ndarray
    fac: pd.DataFrame
    final: SitingSolution | None = None
    problem: SitingProblem | None = None
    now: SitingSolution | None = None
    phase_flows: dict[int, np.ndarray] = field(default_factory=dict)  # households per pair by phase
    steps: list[dict] = field(default_factory=list)


def with_trip_capacity(params: dict, model: cal.TripModel) -> dict:
    """Trips per truck-day for capacity: the trip-time model at a round trip of the one-way limit
    (an average household half the limit away)."""
    minutes = value(params, "lltt_max_travel_min")
    trips = float(model.trips_per_day(minutes))
    how = "fitted on the pilot" if model.fitted else "working minutes / (service + drive minutes)"
    return {**params, "trips_per_truck_day": {
        "value": round(trips, 3), "unit": "trips/day",
        "source": f"trip-time model ({how}) at a {minutes:g}-minute round trip"}}


def build_services(demand: Cells, fixed: pd.DataFrame, params: dict) -> dict[str, Service]:
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
            "capacity_households": [0.0 if name == "offsite" else households_of(c_, u, params, k, n)
                                    for c_, u, k, n in zip(own["capacity"], own["capacity_unit"], own["type"],
                                                           own["name"])],
            "modes": [frozenset(m) if m else frozenset(DEFAULT_MODES.get(name, {"road"})) for m in own["service_modes"]],
            "institution_type": own["institution_type"], "pick_order": None, "step": None})
        out[name] = Service(name, need[name], rows.reset_index(drop=True)[FACILITY_COLUMNS])
    return out


def households_of(capacity, unit, params: dict, kind: str, name: str) -> float:
    """Capacity in households (inf: none recorded). Sludge units (m3/day, trucks) size desludging
    only: an IPAL komunal or MCK given in them is refused rather than converted as sludge."""
    if capacity is None or unit is None or (isinstance(capacity, float) and np.isnan(capacity)):
        return np.inf
    if SERVICE_OF_TYPE[kind] != "lltt" and unit not in ("households", "persons"):
        raise ValueError(f"facility '{name}': the capacity of a {kind} is given in {unit}; give it in "
                         "households or persons (m3/day and trucks size desludging services)")
    return float(capacity_households(capacity, unit, params))


def mean_one_way_minutes(lltt: Service) -> float:
    """Mean one-way minutes of the households on scheduled desludging (final assignment)."""
    if lltt.final is None or lltt.final.assigned.sum() <= 0:
        return 0.0
    return float(np.average(lltt.problem.pair_minutes, weights=lltt.final.assigned))
