"""The desludging calendar: which household each truck empties on which working day, and where
the sludge goes (docs/rollout.md, "Desludging calendar").

Rules, in the order the scheduler applies them:

- **Enrolment.** A household joins scheduled desludging when its phase starts: households the
  plan serves now or in the short term at the calendar's start, the medium term's at its start.
- **First emptying.** A household emptied within the last interval keeps its rhythm: its first
  emptying is due one interval after the last. Every other household (never emptied, or overdue)
  is backlog: the backlog of each phase is spread evenly over the phase's first interval, the
  highest-priority villages first, so every household is emptied at least once within the first
  interval after it enrols.
- **At most once per interval.** A household is never emptied before it is due, and the next
  emptying falls due one interval after the last (a backlog tank may go up to
  ``calendar_backlog_advance_days`` before its spread target when a truck would otherwise idle).
- **Deadlines first.** Each day the trucks take what may go by its deadline, earliest first: a
  first emptying must happen within the first interval after enrolment, a later one within
  ``aman_max_years_since_desludging`` of the last (so the household stays aman); ties by target.
- **Trucks.** Each truck makes ``trips_per_day`` trips on a full working day (fewer on a half
  day), each trip empties ``per_trip`` tanks. A truck works one zone (villages along one route
  out of its base) until that zone has nothing due, then the zone due next. Bases that are IPLTs
  go out first (their trucks unload at home); depots, which may unload at any plant, come next.
- **Treatment.** A trip's sludge goes to the truck's own IPLT if it is one, else to the IPLT with
  room for the whole trip nearest its first stop; an IPLT takes at most its capacity x the day's
  share. When no IPLT has room, the base's trucks stop for the day and what is due waits.

Everything is numpy over day numbers (``date.toordinal``); no database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Bases:
    """Truck bases: the plan's desludging facilities. Arrays are indexed by base."""

    name: list[str]
    trucks: np.ndarray  # (B, 2) int: trucks before and from the medium term
    trips_per_day: np.ndarray  # (B,) trips per truck on a full working day
    per_trip: int  # tanks emptied per trip
    plant: np.ndarray  # (B,) row of the plant the base is (an IPLT), -1 otherwise


@dataclass
class Plants:
    """IPLTs: capacity in m3 per full working day before and from the medium term."""

    name: list[str]
    capacity: np.ndarray  # (P, 2)


@dataclass
class Households:
    """Households on scheduled desludging; base and zone before / from the medium term."""

    id: np.ndarray  # (n,) str
    base: np.ndarray  # (n, 2) int, -1 when not on desludging in that period
    zone: np.ndarray  # (n, 2) int zone number (unique over bases)
    enrol: np.ndarray  # (n,) day number
    last: np.ndarray  # (n,) day number of the last emptying before the calendar, -1 none
    priority: np.ndarray  # (n,) smaller first (village rank) for spreading the backlog
    to_plant: np.ndarray  # (n, P) one-way minutes household -> plant (inf: not reachable)


@dataclass
class Calendar:
    start: int  # day number of the first day
    medium_start: int  # day number the medium term starts
    days: np.ndarray  # day numbers of the working days
    share: np.ndarray  # share of a full working day
    interval: int  # days between emptyings of one household
    m3: float  # per emptying
    keep_aman: int  # days after an emptying by which the next must happen (the 5-year aman rule)
    advance: int = 0  # days a backlog tank may be emptied before its spread target (idle trucks)


def first_due(h: Households, cal: Calendar) -> tuple[np.ndarray, np.ndarray]:
    """Each household's first emptying: the day it may happen from (``release``) and the day it is
    aimed at (``target``). A household emptied within the last interval keeps its rhythm (both one
    interval after the last). The backlog's (never emptied, or overdue) targets are spread evenly
    over the first interval less ``advance`` days (room for holidays and busy days before the
    deadline), the highest-priority villages first; idle trucks may take a backlog tank up to
    ``advance`` days ahead of its target. Day numbers are positive (``toordinal``); a
    household never emptied has ``last`` -1."""
    rhythm = (h.last >= 0) & (h.last + cal.interval >= h.enrol)
    target = np.where(rhythm, h.last + cal.interval, h.enrol)
    backlog = ~rhythm
    for enrol in np.unique(h.enrol[backlog]):
        group = np.flatnonzero(backlog & (h.enrol == enrol))
        order = group[np.lexsort((h.id[group], h.priority[group]))]
        span = max(1, cal.interval - cal.advance)  # the last target keeps ``advance`` days to spare
        target[order] = enrol + (np.arange(len(order)) * span) // len(order)
    release = np.where(backlog, np.maximum(h.enrol, target - cal.advance), target)
    return release, target


def schedule(h: Households, bases: Bases, plants: Plants, cal: Calendar) -> pd.DataFrame:
    """One row per emptying: day, base, truck (1-based per base), household row, zone, plant row,
    m3, target day (``due``), and whether it is the household's first in the calendar."""
    due, target = first_due(h, cal)
    # the first emptying within the first interval after enrolment; a household emptied since it
    # enrolled (before the calendar's first day) is in its next cycle: within the aman rule
    deadline = np.where(h.last >= h.enrol, h.last + cal.keep_aman, h.enrol + cal.interval)
    emptied = np.zeros(len(h.id), bool)
    rows: list[tuple] = []
    for day, share in zip(cal.days, cal.share):
        if share <= 0:
            continue
        period = int(day >= cal.medium_start)
        base_now = h.base[:, period]
        waiting = np.flatnonzero((base_now >= 0) & (due <= day) & (h.enrol <= day))
        if not len(waiting):
            continue
        room = plants.capacity[:, period] * share
        waiting = waiting[np.lexsort((target[waiting], deadline[waiting]))]
        # a base that is an IPLT unloads at home; depots may go elsewhere, so they come second
        for b in sorted(np.unique(base_now[waiting]), key=lambda x: (bases.plant[x] < 0, x)):
            queue = list(waiting[base_now[waiting] == b])
            per_truck = int(np.floor(bases.trips_per_day[b] * share + 1e-9)) * bases.per_trip
            for truck in range(int(bases.trucks[b, period])):
                if not queue or per_truck <= 0:
                    break
                zone = h.zone[queue[0], period]
                picked = [i for i in queue if h.zone[i, period] == zone][:per_truck]
                if len(picked) < per_truck:  # the zone is done: the zone due next, and so on
                    taken = set(picked)
                    picked += [i for i in queue if i not in taken][:per_truck - len(picked)]
                for start in range(0, len(picked), bases.per_trip):  # one trip: its tanks to one plant
                    trip = picked[start:start + bases.per_trip]
                    p = _plant_for(trip[0], bases.plant[b], h, room, cal.m3 * len(trip))
                    if p < 0:  # no plant has room left today: the base's rest wait
                        queue = []
                        break
                    room[p] -= cal.m3 * len(trip)
                    for i in trip:
                        rows.append((day, b, truck + 1, i, h.zone[i, period], p, target[i], not emptied[i]))
                        emptied[i] = True
                        due[i] = target[i] = day + cal.interval
                        deadline[i] = day + cal.keep_aman
                        queue.remove(i)
    frame = pd.DataFrame(rows, columns=["day", "base", "truck", "household", "zone", "plant", "due", "first"])
    frame = frame.astype({"day": np.int64, "base": np.int64, "truck": np.int64, "household": np.int64,
                          "zone": np.int64, "plant": np.int64, "due": np.int64, "first": bool})
    frame["m3"] = cal.m3
    return frame


def _plant_for(i: int, own: int, h: Households, room: np.ndarray, m3: float) -> int:
    """The base's own plant if it has room for ``m3``, else the plant with room nearest household
    ``i``, else -1."""
    if own >= 0 and room[own] >= m3 - 1e-9:
        return own
    fits = np.flatnonzero((room >= m3 - 1e-9) & np.isfinite(h.to_plant[i]))
    if not len(fits):
        return -1
    return int(fits[np.argmin(h.to_plant[i, fits])])


def trucks_needed(households: float, trips_per_day: float, per_trip: int, interval_years: float,
                  share: np.ndarray, years: float) -> int:
    """Trucks that empty ``households`` tanks once per interval on the calendar's working days
    (``share`` of each day; a truck makes whole trips only)."""
    per_truck_year = float(np.floor(trips_per_day * share + 1e-9).sum()) * per_trip / years
    if households <= 0:
        return 0
    if per_truck_year <= 0:
        raise ValueError("a truck makes no trip in a working day: check truck_working_minutes_per_day and "
                         "service_minutes_per_emptying")
    return int(np.ceil(households / interval_years / per_truck_year - 1e-9))
