"""The demo pilot's operation log (ILLUSTRATIVE, generated): one row per emptying attempt, as
``import pilot_events`` reads it, written so that it agrees with the pilot's monthly records.

For each logged month the done rows add up to the month's record (emptyings, households, sludge
pumped, trips = done + failed attempts, working days, trucks, revenue and paying households, mean
round trip), so the calibration a plan uses is the same with or without the log. What the records
do not hold is where the log tells more, with the gaps a real logbook has:

- the last two months are not logged yet (the logbook was entered up to October);
- a few attempts were cancelled (called off before the truck left) or failed (a wasted trip);
- some loads have no receipt at the IPLT (blank: counted as not delivered), a few arrived short;
- some trips have no recorded time; a few households complained, and it took days to resolve;
- in May the second truck was in the workshop for two weeks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis_service.demo.facts import PILOT_NAME

LOGGED_MONTHS = 10  # January to October
TRUCKS = ("KH 8451 AB", "KH 8452 AB")
FEE_IDR = 150_000


def _days(month_start: pd.Timestamp, working_days: int, rng: np.random.Generator) -> list[pd.Timestamp]:
    """``working_days`` days of the month, Monday to Saturday."""
    days = pd.bdate_range(month_start, month_start + pd.offsets.MonthEnd(0), freq="C",
                          weekmask="Mon Tue Wed Thu Fri Sat")  # the service works Monday to Saturday
    chosen = np.sort(rng.choice(len(days), size=min(working_days, len(days)), replace=False))
    return [days[i] for i in chosen]


def _volumes(total: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` loads in tenths of a m3, each 1.5-4.0, adding up to ``total`` exactly."""
    tenths = int(round(total * 10))
    share = rng.uniform(0.8, 1.2, n)
    loads = np.floor(share / share.sum() * tenths).astype(int)
    loads[np.argsort(-share)[: tenths - loads.sum()]] += 1
    return loads / 10.0


def pilot_event_frame(pilots: pd.DataFrame, households: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The log of ``PILOT_NAME`` for its first ``LOGGED_MONTHS`` monthly records."""
    served_villages = set(pilots["village_codes"].iloc[0])
    customers = households.loc[households["village_code"].isin(served_villages), ["source_id", "village_code"]]
    order = rng.permutation(len(customers))
    rows, n = [], 0
    for month, rec in enumerate(pilots.head(LOGGED_MONTHS).itertuples()):
        start = pd.Timestamp(rec.period_start)
        days = _days(start, int(rec.working_days), rng)
        done = int(rec.emptyings)
        failed = int(rec.truck_trips) - done
        cancelled = int(rng.integers(0, 4))
        day_of = np.concatenate([np.arange(len(days)), rng.integers(0, len(days), done - len(days))])[:done]
        day_of = np.sort(day_of)
        truck = np.array([TRUCKS[k % 2] for k in range(done)])
        if start.month == 5:  # the second truck in the workshop from the 6th to the 19th
            away = np.array([6 <= days[d].day <= 19 for d in day_of])
            truck[away] = TRUCKS[0]
        picked = customers.iloc[order[(month * 60 + np.arange(done)) % len(customers)]]
        pumped = _volumes(float(rec.sludge_m3), done, rng)
        delivered = pumped.copy()
        delivered[rng.random(done) < 0.08] = np.nan  # no receipt at the IPLT
        short = rng.random(done) < 0.03
        delivered[short] = np.round(pumped[short] * 0.6, 1)
        timed = rng.random(done) >= 0.1
        timed[0] = True
        noise = rng.normal(0, 8, int(timed.sum()))
        minutes = np.full(done, np.nan)
        minutes[timed] = float(rec.mean_trip_minutes) + noise - noise.mean()  # the month's mean exactly
        paying = np.zeros(done, bool)
        paying[rng.choice(done, size=int(rec.households_paying), replace=False)] = True
        complaint = rng.random(done) < 0.04
        for k in range(done):
            n += 1
            rows.append({"event_id": f"LOG-{n:05d}", "pilot": PILOT_NAME, "date": days[day_of[k]].date(),
                         "status": "selesai", "reason": None, "household_id": picked["source_id"].iat[k],
                         "village_code": picked["village_code"].iat[k], "truck": truck[k],
                         "pumped_m3": pumped[k], "delivered_m3": None if np.isnan(delivered[k]) else delivered[k],
                         "trip_minutes": None if np.isnan(minutes[k]) else round(float(minutes[k]), 6),
                         "fee_billed_idr": float(FEE_IDR), "fee_paid_idr": float(FEE_IDR if paying[k] else 0),
                         "complaint": bool(complaint[k]),
                         "resolved_days": float(rng.integers(1, 11)) if complaint[k] else None})
        for status, count, reason in (("gagal", failed, "akses jalan tertutup"), ("batal", cancelled, "pemilik tidak di rumah")):
            for _ in range(count):
                n += 1
                rows.append({"event_id": f"LOG-{n:05d}", "pilot": PILOT_NAME, "date": days[int(rng.integers(len(days)))].date(),
                             "status": status, "reason": reason, "household_id": None,
                             "village_code": sorted(served_villages)[0], "truck": TRUCKS[0], "pumped_m3": None,
                             "delivered_m3": None, "trip_minutes": None, "fee_billed_idr": None, "fee_paid_idr": None,
                             "complaint": None, "resolved_days": None})
    return pd.DataFrame(rows).sort_values(["date", "event_id"], kind="stable").reset_index(drop=True)
