"""What the pilot measured, as planning parameters beside the configured defaults.

Each observed value names the parameter it can replace; a plan uses the pilot's values
(``calibration: pilot``) or the configured ones (``calibration: defaults``), and records which.

Trips per truck-day depend on travel time: a trip takes the round-trip drive plus the time spent
pumping and discharging, so capacity is ``min(max trips, working minutes / (service + drive))``.
A pilot is usually demand-limited (trucks wait for orders), so its trips per truck-day measure
utilisation, not capacity. The pilot's months are fitted as ``1 / trips = a + b x minutes`` (minutes
per trip in truck-days); the fit replaces the time model only when it explains the months
(slope > 0, R^2 >= ``MIN_R2``), otherwise the configured time model stays and the note says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from gis_service.analysis.parameters import value

MIN_R2 = 0.5


@dataclass(frozen=True)
class Observed:
    key: str  # the parameter it calibrates, or a name of its own when it is only reported
    observed: float | None
    configured: float | None
    unit: str
    calibrates: bool  # True: replaces the configured parameter when the plan uses the pilot
    note: str = ""


@dataclass(frozen=True)
class TripModel:
    """Trips one truck makes per day at a given round-trip drive time."""

    intercept: float | None = None  # fitted a (truck-days per trip at zero drive), None: time model
    slope: float | None = None  # fitted b (truck-days per trip per drive minute)
    r2: float | None = None
    working_minutes: float = 420.0
    service_minutes: float = 90.0
    max_trips: float = 3.0

    @property
    def fitted(self) -> bool:
        return self.slope is not None

    def trips_per_day(self, round_trip_minutes: np.ndarray | float) -> np.ndarray:
        t = np.asarray(round_trip_minutes, dtype=float)
        if self.fitted:
            trips = 1.0 / (self.intercept + self.slope * t)
        else:
            trips = self.working_minutes / (self.service_minutes + t)
        return np.minimum(self.max_trips, trips)


@dataclass
class Calibration:
    pilot: str | None
    periods: str  # e.g. "2025-01-01..2025-12-31, 12 records"
    rows: list[Observed] = field(default_factory=list)
    trip_model: TripModel = field(default_factory=TripModel)

    @property
    def source(self) -> str:
        return f"pilot '{self.pilot}' ({self.periods})"

    def apply(self, params: dict) -> dict:
        """Parameters with every calibrating observation in place of the configured value."""
        out = dict(params)
        for row in self.rows:
            if row.calibrates and row.observed is not None and row.key in out:
                out[row.key] = {**out[row.key], "value": row.observed,
                                "source": f"observed in {self.source}"}
        return out

    def as_dict(self) -> dict:
        return {"pilot": self.pilot, "periods": self.periods,
                "rows": [row.__dict__ for row in self.rows],
                "trip_model": {**self.trip_model.__dict__, "fitted": self.trip_model.fitted}}


def pilot_records(conn: Connection, *, region_codes: list[str], pilot: str | None = None) -> pd.DataFrame:
    """The records of one pilot (by name), else of every pilot serving villages of the region
    (one or several Kemendagri codes)."""
    rows = pd.read_sql(text(
        "SELECT p.name AS pilot, r.* FROM pilot_record r JOIN pilot p ON p.id = r.pilot_id "
        "WHERE (CAST(:name AS text) IS NULL AND EXISTS (SELECT 1 FROM unnest(p.village_codes) c, "
        "       unnest(CAST(:codes AS text[])) g WHERE c = g OR starts_with(c, g || '.'))) OR p.name = :name "
        "ORDER BY p.name, r.period_start"), conn, params={"name": pilot, "codes": region_codes})
    rows = _with_logs(conn, rows, pilot=pilot, region_codes=region_codes)
    if pilot is not None and rows.empty:
        names = conn.execute(text("SELECT name FROM pilot ORDER BY name")).scalars().all()
        raise ValueError(f"no records for pilot '{pilot}'; pilots with records: "
                         f"{', '.join(names) or 'none (import pilot records first)'}")
    for column in ("capex_idr", "opex_idr", "revenue_idr", "wtp_idr"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    return rows


def _with_logs(conn: Connection, rows: pd.DataFrame, *, pilot: str | None, region_codes: list[str]) -> pd.DataFrame:
    """Where a pilot has an operation log (``import pilot_events``), its records carry the log's
    totals (``pilot_evaluation.records_with_log``): the log, one row per emptying, is the better
    source for what it counts."""
    from gis_service.analysis.pilot_evaluation import records_with_log

    logged = pd.read_sql(text(
        "SELECT p.id, p.name, p.start_date, p.end_date FROM pilot p WHERE EXISTS "
        "(SELECT 1 FROM pilot_event e WHERE e.pilot_id = p.id) AND (p.name = :name OR (CAST(:name AS text) IS NULL "
        "AND EXISTS (SELECT 1 FROM unnest(p.village_codes) c, unnest(CAST(:codes AS text[])) g "
        "WHERE c = g OR starts_with(c, g || '.'))))"), conn, params={"name": pilot, "codes": region_codes})
    if logged.empty:
        return rows
    parts = [rows[~rows["pilot"].isin(logged["name"])]]
    for p in logged.itertuples():
        events = pd.read_sql(text("SELECT * FROM pilot_event WHERE pilot_id = :p"), conn, params={"p": p.id})
        merged = records_with_log(rows[rows["pilot"] == p.name], events, start=p.start_date, end=p.end_date)
        parts.append(merged.assign(pilot=p.name, pilot_id=p.id))
    return pd.concat([part for part in parts if not part.empty], ignore_index=True)


def pilot_trucks(conn: Connection) -> float | None:
    """Trucks of the pilot depots (facility status 'pilot', capacity in trucks), for records that
    do not say how many trucks ran."""
    total = conn.execute(text(
        "SELECT sum(capacity) FROM facility WHERE status = 'pilot' AND capacity_unit = 'trucks'")).scalar()
    return float(total) if total else None


def calibrate(records: pd.DataFrame, params: dict, *, trucks: float | None = None) -> Calibration:
    """Observed parameters of the pilot's records (see the module docstring)."""
    model = TripModel(working_minutes=value(params, "truck_working_minutes_per_day"),
                      service_minutes=value(params, "service_minutes_per_emptying"),
                      max_trips=value(params, "max_trips_per_truck_day"))
    if records.empty:
        return Calibration(None, "no pilot records", [], model)
    names = sorted(records["pilot"].unique())
    periods = (f"{records['period_start'].min()}..{records['period_end'].max()}, "
               f"{len(records)} records")
    r = records

    def total(column: str) -> float | None:
        s = pd.to_numeric(r[column], errors="coerce")
        return float(s.sum()) if s.notna().any() else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    def paired(a: str, b: str) -> tuple[float | None, float | None]:
        """Sums of two columns over the records that have both (a ratio of like with like)."""
        x, y = pd.to_numeric(r[a], errors="coerce"), pd.to_numeric(r[b], errors="coerce")
        ok = x.notna() & y.notna()
        return (float(x[ok].sum()), float(y[ok].sum())) if ok.any() else (None, None)

    span = (pd.to_datetime(r["period_end"]) - pd.to_datetime(r["period_start"])).dt.days + 1
    r = r.assign(span_days=span)
    truck_count = pd.to_numeric(r["trucks"], errors="coerce").fillna(trucks if trucks else np.nan)
    r = r.assign(truck_days=truck_count * pd.to_numeric(r["working_days"], errors="coerce"))
    days, day_span = paired("working_days", "span_days")
    rate = ratio(*paired("households_paying", "households_served"))
    if rate is not None and not 0 < rate <= 1:
        rate_note = f"households paying / served is {rate:.3f}, outside (0, 1]: the configured rate is kept"
        rate_calibrates = False
    else:
        rate_note, rate_calibrates = "households paying / households served", True
    opex, emptyings = paired("opex_idr", "emptyings")
    per_emptying = ratio(opex, emptyings)
    interval = value(params, "desludging_interval")
    model, fit_note = _fit_trips(r, truck_count, model)
    rows = [
        Observed("sludge_per_emptying", ratio(*paired("sludge_m3", "emptyings")),
                 value(params, "sludge_per_emptying"), "m3", True),
        Observed("trips_per_truck_day", ratio(*paired("truck_trips", "truck_days")),
                 value(params, "trips_per_truck_day"), "trips/day", False,
                 "pilot utilisation; capacity follows the trip-time model. " + fit_note),
        Observed("mean_trip_minutes", weighted_mean(r, "mean_trip_minutes", "truck_trips"), None, "minutes",
                 False, "mean round trip of the pilot's trucks"),
        Observed("working_days_per_year", ratio(days, day_span) * 365.0 if days else None,
                 value(params, "working_days_per_year"), "days/year", True),
        Observed("opex_per_trip", ratio(*paired("opex_idr", "truck_trips")), value(params, "opex_per_trip"),
                 "IDR/trip", False, "the pilot's whole running cost per trip (crew and fixed costs "
                 "included, so it is reported, not used for the variable cost per trip)"),
        Observed("cost_per_emptying", per_emptying, None, "IDR/emptying", False,
                 "operating cost per emptying"),
        Observed("cost_per_household_year", per_emptying / interval if per_emptying else None, None,
                 "IDR/household/year", False, f"cost per emptying over the {interval:g}-year interval"),
        Observed("collection_rate", rate, value(params, "collection_rate"), "fraction", rate_calibrates,
                 rate_note),
        Observed("fee_per_emptying", ratio(*paired("revenue_idr", "households_paying")), None, "IDR/emptying",
                 False, "fees collected / households paying"),
        Observed("willingness_to_pay", weighted_mean(r, "wtp_idr", "households_served"), None, "IDR/emptying",
                 False, "stated willingness to pay, mean over households served"),
        Observed("pilot_capex", total("capex_idr"), None, "IDR", False, "investment recorded by the pilot"),
    ]
    return Calibration(", ".join(names), periods, rows, model)


def weighted_mean(r: pd.DataFrame, column: str, weight: str) -> float | None:
    """The mean of ``column`` weighted by ``weight`` where both are given; the plain mean without
    weights; None without values."""
    v, w = pd.to_numeric(r[column], errors="coerce"), pd.to_numeric(r[weight], errors="coerce")
    ok = v.notna() & w.notna() & (w > 0)
    if ok.any():
        return float(np.average(v[ok], weights=w[ok]))
    return float(v.mean()) if v.notna().any() else None


def _fit_trips(r: pd.DataFrame, trucks: pd.Series, model: TripModel) -> tuple[TripModel, str]:
    """Fit 1/trips per truck-day against the mean round-trip minutes (module docstring)."""
    trips = pd.to_numeric(r["truck_trips"], errors="coerce")
    minutes = pd.to_numeric(r["mean_trip_minutes"], errors="coerce")
    per_day = trips / (trucks * pd.to_numeric(r["working_days"], errors="coerce"))
    ok = per_day.notna() & minutes.notna() & (per_day > 0)
    if ok.sum() < 3 or minutes[ok].std() == 0:
        return model, "Too few months with trips and trip times to fit."
    x, y = minutes[ok].to_numpy(float), 1.0 / per_day[ok].to_numpy(float)
    if np.ptp(y) == 0:
        return model, ("Trips per truck-day were the same whatever the trip time: the pilot was limited "
                       "by demand, so the configured trip-time model is used.")
    slope, intercept = np.polyfit(x, y, 1)
    r2 = 1.0 - float(np.sum((y - (intercept + slope * x)) ** 2)) / float(np.sum((y - y.mean()) ** 2))
    if slope > 0 and intercept > 0 and r2 >= MIN_R2:
        fitted = TripModel(float(intercept), float(slope), r2, model.working_minutes,
                           model.service_minutes, model.max_trips)
        return fitted, f"Fitted on {ok.sum()} months: 1/trips = {intercept:.3f} + {slope:.4f} x minutes " \
                       f"(R^2 {r2:.2f})."
    return (TripModel(None, None, r2, model.working_minutes, model.service_minutes, model.max_trips),
            f"Trip times do not explain the trips (R^2 {r2:.2f}, slope {slope:.4f}): the pilot was "
            "limited by demand, so the configured trip-time model is used.")
