"""Planning parameters as a run uses them, and the capacity model that turns a facility's capacity
in its own unit into households it can sustain (docs/domain.md §5).

households a desludging service sustains = trucks x trips/day x truck m3 x working days/year x
interval years / sludge m3 per emptying; an IPLT of Q m3/day sustains
Q x working days/year x interval / sludge m3 per emptying.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import Connection, text

# Which service a facility type provides: scheduled desludging (trucks to an IPLT), off-site
# piped systems, public toilet blocks.
SERVICE_OF_TYPE = {
    "iplt": "lltt", "desludging_depot": "lltt", "transfer_station": "lltt",
    "ipal_kota": "offsite", "ipal_kawasan": "offsite", "ipal_komunal": "offsite",
    "mck": "mck",
}
SERVICES = ("lltt", "offsite", "mck")


def load_parameter_values(conn: Connection | None, *, parameter_set_id: int | None, config_dir: Path) -> dict:
    """The defaults of ``config/parameters/default.yml`` overlaid with the scenario's parameter set
    (else the stored 'default' set), so a set saved before a parameter existed still works.
    Returns {name: {value, unit, source}} so a run records the sources with the values. Without a
    database (``conn`` None: a run on GeoParquet files) the defaults alone."""
    with open(config_dir / "parameters" / "default.yml", encoding="utf-8") as fh:
        values = dict(yaml.safe_load(fh)["values"])
    if conn is None:
        return values
    stored = None
    if parameter_set_id is not None:
        stored = conn.execute(text("SELECT values FROM parameter_set WHERE id = :i"),
                              {"i": parameter_set_id}).scalar()
    if stored is None:
        stored = conn.execute(text("SELECT values FROM parameter_set WHERE name = 'default'")).scalar()
    values.update(stored or {})
    return values


def value(params: dict, name: str) -> float:
    try:
        return float(params[name]["value"])
    except KeyError as exc:
        raise KeyError(f"parameter '{name}' is missing from the parameter set; add it to "
                       "config/parameters/default.yml (with its source)") from exc


def mapping(params: dict, name: str) -> dict:
    """A parameter whose value is a table (e.g. funding shares per item), checked to be one."""
    raw = params.get(name, {}).get("value")
    if not isinstance(raw, dict):
        raise KeyError(f"parameter '{name}' must be a mapping in config/parameters/default.yml "
                       f"(with its source); found {raw!r}")
    return raw


def numbers(params: dict, name: str) -> list[float]:
    """A parameter whose value is a list of numbers (e.g. truck sizes)."""
    raw = params.get(name, {}).get("value")
    if not isinstance(raw, list) or not raw:
        raise KeyError(f"parameter '{name}' must be a non-empty list of numbers; found {raw!r}")
    return [float(v) for v in raw]


def households_per_year_per_m3(params: dict) -> float:
    """Households whose tanks one m3/day of emptying capacity keeps on the desludging interval."""
    return value(params, "working_days_per_year") * value(params, "desludging_interval") / \
        value(params, "sludge_per_emptying")


def capacity_households(capacity: float | None, unit: str | None, params: dict) -> float | None:
    """Capacity in households; None means no limit (capacity not recorded: None, or NaN as pandas
    reads a missing value in a column that also holds numbers or text)."""
    if pd.isna(capacity) or pd.isna(unit):
        return None
    capacity = float(capacity)
    if unit == "households":
        return capacity
    if unit == "persons":
        return capacity / value(params, "household_size")
    if unit == "m3_per_day":
        return capacity * households_per_year_per_m3(params)
    if unit == "trucks":
        m3_per_day = capacity * value(params, "trips_per_truck_day") * value(params, "truck_volume")
        return m3_per_day * households_per_year_per_m3(params)
    raise ValueError(f"unknown capacity unit {unit}")
