"""``gis-service scaleup schedule``: a stored plan's desludging calendar, day by day, with a
summary per year (docs/rollout.md). The rules are in ``schedule``; the plan is read by
``plan_inputs``; this module builds the households, bases, plants and working days, runs the
scheduler and shapes its output."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gis_service.analysis import network as net
from gis_service.analysis.parameters import value
from gis_service.analysis.rollout import plan_inputs as pi
from gis_service.analysis.rollout.routes import order_trips, trip_cost
from gis_service.analysis.rollout.schedule import Bases, Calendar, Households, Plants, schedule, trucks_needed
from gis_service.analysis.rollout.workdays import working_days

CSV_COLUMNS = ["date", "truck", "household_id", "village_code", "facility_id", "m3", "trip_minutes", "zone",
               "trip", "stop", "base", "due", "first", "enrolled", "emptied_before"]
AMAN_YEARS = "aman_max_years_since_desludging"


@dataclass
class CalendarResult:
    run_id: int
    scenario: str
    start: date
    years: int
    emptyings: pd.DataFrame  # CSV_COLUMNS
    per_year: pd.DataFrame
    bases: pd.DataFrame  # name, trucks before/from the medium term, trips per day, households
    plants: pd.DataFrame  # name, facility_id, capacity before/from the medium term
    zones: pd.DataFrame  # zone, base, village_code
    households: pd.DataFrame  # id, village_code, x, y, enrol, base names
    params: dict = field(default_factory=dict)  # the run's parameters (the current set filling in)
    notes: list[str] = field(default_factory=list)


def build_calendar(conn: Connection, run_id: int, *, metric: str, network_params: net.NetworkParams,
                   config_dir, start: str | None = None, years: int = 5) -> CalendarResult:
    if not 1 <= years <= 15:
        raise ValueError(f"--years takes 1 to 15 (got {years})")
    run = pi.read_run(conn, run_id, metric, config_dir)
    params, fac = run.params, run.facilities
    first = pi.start_of(start, run.start_year)
    end = date(first.year + years, first.month, 1)
    medium = date(first.year + pi.short_term_years(params), first.month, 1)
    base_of, base_rows, plant_rows = pi.bases_and_plants(fac)
    key_to_base = {int(k): int(np.searchsorted(base_rows, base_of[i])) for i, k in enumerate(fac["key"])}
    counts = pi.household_counts(run.flows, key_to_base)
    graphs, every = _minutes(run, fac, base_rows, plant_rows, run.households, network_params)
    picked, chosen_base, missing = _households(run.households, counts, every["to_base"])
    if not len(picked):
        raise ValueError(f"run {run_id}: none of the plan's villages has household points to schedule")
    hh = run.households.iloc[picked].reset_index(drop=True).assign(period=np.where(chosen_base[:, 0] >= 0, 0, 1))
    minutes = _subset(every, picked)
    zone, zones = _zones(run, fac, base_rows, hh, chosen_base, graphs, minutes)
    interval = float(value(params, "desludging_interval"))
    days = working_days(first, end, params)
    per_trip = max(1, int(np.floor(value(params, "truck_volume") / value(params, "sludge_per_emptying") + 1e-9)))
    drive = _drive_minutes(hh, chosen_base, base_rows, plant_rows, minutes)
    model = _per_trip_model(run.trip_model, per_trip)
    trips = np.array([np.floor(float(model.trips_per_day(np.nanmean(drive[b]) if len(drive[b]) else 0.0))
                               + 1e-9) for b in range(len(base_rows))])
    own = fac["trucks"].fillna(0).to_numpy(float)[base_rows]
    built_in = fac["phase"].to_numpy(int)[base_rows]  # 0 in place, 1 short term, 2 medium term
    notes = [f"{missing:,} households the plan puts on desludging have no household point to schedule in their "
             "village"] if missing else []
    trucks = np.zeros((len(base_rows), 2), dtype=np.int64)
    for b in range(len(base_rows)):
        for p in (0, 1):
            if built_in[b] > p + 1:
                continue  # not built yet: no trucks, no households
            if trips[b] < 1:
                trucks[b, p] = int(own[b])
                continue
            trucks[b, p] = max(int(own[b]), trucks_needed(float((chosen_base[:, p] == b).sum()), trips[b], per_trip,
                                                          interval, days["share"].to_numpy(float), years))
    for b in np.flatnonzero(trips < 1):
        notes.append(f"{fac['name'].iat[base_rows[b]]}: a trip takes longer than a working day, so its trucks make no "
                     "whole trip and its households are not scheduled")
    plant_of_base = np.array([int(np.searchsorted(plant_rows, b)) if b in set(plant_rows) else -1
                              for b in base_rows])
    capacity = pi.plant_capacity(fac, plant_rows, base_of, params)
    enrol = np.where(hh["period"].to_numpy() == 0, first.toordinal(), medium.toordinal())
    last = np.array([d.toordinal() if isinstance(d, date) else -1 for d in hh["last_desludged"]], dtype=np.int64)
    h = Households(id=hh["id"].to_numpy(str), base=chosen_base, zone=zone, enrol=enrol, last=last,
                   priority=run.rank.reindex(hh["village_code"]).fillna(1e9).to_numpy(float),
                   to_plant=minutes["to_plant"])
    cal = Calendar(start=first.toordinal(), medium_start=medium.toordinal(),
                   days=np.array([d.toordinal() for d in days["date"]]), share=days["share"].to_numpy(float),
                   interval=int(round(interval * 365.25)), m3=float(value(params, "sludge_per_emptying")),
                   keep_aman=int(round(value(params, AMAN_YEARS) * 365.25)),
                   advance=int(value(params, "calendar_backlog_advance_days")))
    names = [str(n) for n in fac["name"].to_numpy()[base_rows]]
    done = schedule(h, Bases(names, trucks, trips, per_trip, plant_of_base), Plants(
        [str(n) for n in fac["name"].to_numpy()[plant_rows]], capacity), cal)
    route = _route_cost(graphs, minutes, fac, base_rows, plant_rows, network_params)
    trips_of = order_trips(done, per_trip, route)
    emptyings = _rows(done, hh, fac, base_rows, plant_rows, minutes, names, enrol, trips_of,
                      service=float(run.trip_model.service_minutes))
    plant_names = _unique([str(n) for n in fac["name"].to_numpy()[plant_rows]],
                          [_facility_id(fac, r) for r in plant_rows])
    result = CalendarResult(
        run_id=run_id, scenario=run.scenario, start=first, years=years, emptyings=emptyings, params=params,
        per_year=per_year(emptyings, hh.assign(enrol=[date.fromordinal(int(d)) for d in enrol]), first, years,
                          params, trucks, medium, capacity, plant_names, [_facility_id(fac, r) for r in plant_rows],
                          days),
        bases=pd.DataFrame({"base": names, "type": fac["type"].to_numpy()[base_rows],
                            "trucks_short_term": trucks[:, 0], "trucks_medium_term": trucks[:, 1],
                            "trips_per_truck_day": trips, "tanks_per_trip": per_trip,
                            "households_short_term": [(chosen_base[:, 0] == b).sum() for b in range(len(base_rows))],
                            "households_medium_term": [(chosen_base[:, 1] == b).sum() for b in range(len(base_rows))]}),
        plants=pd.DataFrame({"plant": plant_names,
                             "facility_id": [_facility_id(fac, p) for p in plant_rows],
                             "m3_per_day_short_term": capacity[:, 0], "m3_per_day_medium_term": capacity[:, 1]}),
        zones=zones, households=hh.assign(enrol=[date.fromordinal(int(d)) for d in enrol]))
    result.notes = notes + _notes(result, cal, done, last)
    return result


def _households(hh: pd.DataFrame, counts: dict, to_base: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Which households are on desludging (positions in ``hh``, in each village's order of
    ``plan_inputs``) and their base before and from the medium term, and how many households the
    plan counts that have no point. Within a village each base takes its count of the nearest
    households; a household keeps the base that enrolled it (an operator does not hand customers
    over mid-cycle), and those enrolling in the medium term go to the bases whose count grows."""
    picked, bases, missing = [], [], 0
    for village, rows in hh.groupby("village_code", sort=True).indices.items():
        a, b = counts.get((village, 0), {}), counts.get((village, 1), {})
        want = max(sum(a.values()), sum(b.values()))
        total_a, total = min(len(rows), sum(a.values())), min(len(rows), want)
        missing += want - total
        if total == 0:
            continue
        base = np.full((total, 2), -1, np.int64)
        base[:total_a, 0] = base[:total_a, 1] = _nearest_within(rows[:total_a], a, to_base)
        grown = {k: max(0, n - a.get(k, 0)) for k, n in b.items()}
        base[total_a:, 1] = _nearest_within(rows[total_a:total], grown, to_base, fallback=b or a)
        picked.append(rows[:total])
        bases.append(base)
    if not picked:
        return np.empty(0, np.int64), np.empty((0, 2), np.int64), missing
    return np.concatenate(picked), np.concatenate(bases), missing


def _nearest_within(rows: np.ndarray, counts: dict, to_base: np.ndarray, fallback: dict | None = None) -> np.ndarray:
    """Each household's base: pairs nearest first while the base has count left; a household left
    over (the plan moved households between bases) goes to the nearest base of ``fallback``."""
    out = np.full(len(rows), -1, np.int64)
    left = {k: n for k, n in counts.items() if n > 0}
    if left and len(rows):
        keys = np.array(sorted(left), dtype=np.int64)
        cost = to_base[np.ix_(rows, keys)]
        for flat in np.argsort(cost, axis=None, kind="stable"):
            i, k = divmod(int(flat), len(keys))
            if out[i] < 0 and left[int(keys[k])] > 0:
                out[i] = keys[k]
                left[int(keys[k])] -= 1
    rest = np.flatnonzero(out < 0)
    if len(rest) and (fallback or counts):
        keys = np.array(sorted(fallback or counts), dtype=np.int64)
        out[rest] = keys[np.argmin(to_base[np.ix_(rows[rest], keys)], axis=1)]
    return out


def _subset(minutes: dict, picked: np.ndarray) -> dict:
    """The minutes of the picked households only (network trees and plant-to-base as they are)."""
    return {**minutes, "to_base": minutes["to_base"][picked], "to_plant": minutes["to_plant"][picked],
            "nodes": {m: (node[picked], access[picked]) for m, (node, access) in minutes["nodes"].items()}}


def _unique(names: list[str], ids: list[str]) -> list[str]:
    """Plant names as column labels: a name two plants share gets its facility id."""
    return [f"{n} [{i}]" if names.count(n) > 1 else n for n, i in zip(names, ids)]


def _minutes(run, fac, base_rows, plant_rows, hh, params):
    """One-way minutes household -> base (n, B) and -> plant (n, P), plant -> base (P, B), the
    households' nodes and each base's tree (for zones)."""
    graphs, to_base, trees = {}, np.full((len(hh), len(base_rows)), np.inf), {}
    node_of = {}
    xy = hh[["x", "y"]].to_numpy(float)
    for b, row in enumerate(base_rows):
        modes = frozenset(fac["service_modes"].iat[row] or ["road"])
        if modes not in graphs:
            graphs[modes] = net.build_graph(run.edges, modes=set(modes), params=params)
            node_of[modes] = net.snap(graphs[modes], xy, params=params)
        g = graphs[modes]
        node = net.snap_facilities(g, fac[["x", "y"]].to_numpy(float)[[row]], params=params, layers=None)[0]
        if node < 0:
            continue
        dist, pred = pi.minutes_from(g, node)
        trees[b] = (modes, node, dist, pred)
        hn, access = node_of[modes]
        to_base[:, b] = np.where(hn >= 0, dist[np.maximum(hn, 0)] + access, np.inf)
    road = frozenset(["road"])
    if road not in graphs:
        graphs[road] = net.build_graph(run.edges, modes={"road"}, params=params)
        node_of[road] = net.snap(graphs[road], xy, params=params)
    g, (hn, access) = graphs[road], node_of[road]
    to_plant = np.full((len(hh), len(plant_rows)), np.inf)
    plant_to_base = np.full((len(plant_rows), len(base_rows)), np.inf)
    base_nodes = net.snap_facilities(g, fac[["x", "y"]].to_numpy(float)[base_rows], params=params, layers=None)
    for p, row in enumerate(plant_rows):
        node = net.snap_facilities(g, fac[["x", "y"]].to_numpy(float)[[row]], params=params, layers=None)[0]
        if node < 0:
            continue
        dist, _ = pi.minutes_from(g, node)
        to_plant[:, p] = np.where(hn >= 0, dist[np.maximum(hn, 0)] + access, np.inf)
        plant_to_base[p] = np.where(base_nodes >= 0, dist[np.maximum(base_nodes, 0)], np.inf)
    villages = hh["village_code"].to_numpy()
    for name, matrix, where in (("to_base", to_base, base_rows), ("to_plant", to_plant, plant_rows)):
        _fill_unreached(matrix, villages, xy, fac[["x", "y"]].to_numpy(float)[where], run.params)
    return graphs, {"to_base": to_base, "to_plant": to_plant, "plant_to_base": plant_to_base, "trees": trees,
                    "nodes": node_of}


def _fill_unreached(minutes: np.ndarray, villages: np.ndarray, xy: np.ndarray, site_xy: np.ndarray,
                    params: dict) -> None:
    """Households the network does not reach from a site (their point is beyond the snap
    distance) take the median minutes of their village's reached households, else the straight
    line at ``travel_speed_kmh``: the plan reached them through their demand cell."""
    speed = value(params, "travel_speed_kmh")
    for j in range(minutes.shape[1]):
        col = minutes[:, j]
        gone = ~np.isfinite(col)
        if not gone.any():
            continue
        median = pd.Series(np.where(gone, np.nan, col)).groupby(villages).transform("median").to_numpy()
        straight = np.hypot(xy[:, 0] - site_xy[j, 0], xy[:, 1] - site_xy[j, 1]) / 1000.0 / speed * 60.0
        col[gone] = np.where(np.isfinite(median[gone]), median[gone], straight[gone])


def _zones(run, fac, base_rows, hh, chosen_base, graphs, minutes):
    """Zone number per household and period, and the zone table (zone, base, village_code)."""
    radius = float(value(run.params, "calendar_zone_minutes"))
    zone = np.full(chosen_base.shape, -1, np.int64)
    labels: dict[tuple[int, int], int] = {}
    table = []
    villages = hh["village_code"].to_numpy()
    for period in (0, 1):
        for b in np.unique(chosen_base[:, period][chosen_base[:, period] >= 0]):
            rows = np.flatnonzero(chosen_base[:, period] == b)
            tree = minutes["trees"].get(int(b))
            for village in np.unique(villages[rows]):
                mine = rows[villages[rows] == village]
                root = -1
                if tree is not None:
                    modes, base_node, dist, pred = tree
                    nodes = minutes["nodes"][modes][0][mine]
                    nodes = nodes[nodes >= 0]
                    if len(nodes):
                        root = pi.zone_root(int(np.bincount(nodes).argmax()), dist, pred, base_node, radius)
                key = (int(b), root)
                if key not in labels:
                    labels[key] = len(labels)
                zone[mine, period] = labels[key]
                table.append((labels[key], str(fac["name"].iat[base_rows[b]]), village, period))
    zones = pd.DataFrame(table, columns=["zone", "base", "village_code", "period"]).drop_duplicates(
        ["zone", "village_code"])
    return zone, zones


def _drive_minutes(hh, chosen_base, base_rows, plant_rows, minutes) -> list[np.ndarray]:
    """Drive minutes of a trip (base -> household -> nearest plant -> base) per base's households."""
    out = []
    for b in range(len(base_rows)):
        rows = np.flatnonzero((chosen_base == b).any(axis=1))
        there = minutes["to_base"][rows, b]
        if len(plant_rows):
            back = np.min(minutes["to_plant"][rows] + minutes["plant_to_base"][:, b][None, :], axis=1)
        else:
            back = there
        trip = np.where(np.isfinite(back), there + back, 2 * there)
        out.append(trip[np.isfinite(trip)])
    return out


def _facility_id(fac: pd.DataFrame, row: int) -> str:
    fid = fac["facility_id"].iat[row]
    return str(int(fid)) if pd.notna(fid) else f"baru-{int(fac['key'].iat[row])}"


def _per_trip_model(model, per_trip: int):
    """The trip-time model for trips of ``per_trip`` tanks: each tank adds its service minutes
    (a fitted model: its time per trip at zero drive)."""
    if per_trip == 1:
        return model
    if model.fitted:
        return replace(model, intercept=model.intercept * per_trip)
    return replace(model, service_minutes=model.service_minutes * per_trip)


def _route_cost(graphs, minutes, fac, base_rows, plant_rows, network_params):
    """Minutes between a base, a trip's households and its plant on the base's network, for
    ``routes.order_trips`` (None where the base or plant is off that network)."""
    plant_nodes: dict = {}

    def cost(b: int, households: np.ndarray, p: int):
        tree = minutes["trees"].get(b)
        if tree is None:
            return None
        modes, base_node = tree[0], tree[1]
        graph = graphs[modes]
        if (modes, p) not in plant_nodes:
            plant_nodes[(modes, p)] = int(net.snap_facilities(graph, fac[["x", "y"]].to_numpy(float)[[plant_rows[p]]],
                                                              params=network_params, layers=None)[0])
        node, access = minutes["nodes"][modes]
        if plant_nodes[(modes, p)] < 0 or (node[households] < 0).any():
            return None
        return trip_cost(graph, node[households], access[households], base_node, plant_nodes[(modes, p)])

    return cost


def _rows(done, hh, fac, base_rows, plant_rows, minutes, names, enrol, trips_of, *, service: float) -> pd.DataFrame:
    if done.empty:
        return pd.DataFrame(columns=[*CSV_COLUMNS, "base_minutes"])
    i, b, p = done["household"].to_numpy(), done["base"].to_numpy(), done["plant"].to_numpy()
    trip_no, stop, routed = trips_of
    there = minutes["to_base"][i, b]
    back = minutes["to_plant"][i, p] + minutes["plant_to_base"][p, b]
    one = np.where(np.isfinite(there) & np.isfinite(back), there + back, 2 * there)
    keys = [done["day"].to_numpy(), b, done["truck"].to_numpy(), trip_no]
    stops = pd.Series(trip_no).groupby(keys).transform("size").to_numpy()
    longest = pd.Series(one).groupby(keys).transform("max").to_numpy()  # no network route: the farthest stop's
    trip = np.where(np.isfinite(routed), routed, longest) + service * stops
    plant_ids = np.array([_facility_id(fac, r) for r in plant_rows], dtype=object)
    return pd.DataFrame({
        "date": [date.fromordinal(int(d)) for d in done["day"]],
        "truck": [f"{names[x]} #{t}" for x, t in zip(b, done["truck"])],
        "household_id": hh["id"].to_numpy()[i], "village_code": hh["village_code"].to_numpy()[i],
        "facility_id": plant_ids[p], "m3": np.round(done["m3"].to_numpy(float), 3),
        "trip_minutes": np.where(np.isfinite(trip), np.round(trip, 1), np.nan),
        "zone": done["zone"].to_numpy() + 1, "trip": trip_no, "stop": stop, "base": [names[x] for x in b],
        "due": [date.fromordinal(int(d)) for d in done["due"]], "first": done["first"].to_numpy(bool),
        "enrolled": [date.fromordinal(int(d)) for d in enrol[i]],
        "emptied_before": [d if isinstance(d, date) else None for d in hh["last_desludged"].to_numpy()[i]],
        "base_minutes": np.round(there, 1)})


def per_year(emptyings, hh, first, years, params, trucks, medium, capacity, plant_names, plant_ids,
             days) -> pd.DataFrame:
    """Per calendar year from the start: emptyings, trucks, m3/day per plant, households aman at the
    year's end (an emptying within ``aman_max_years_since_desludging``), revenue at the tariffs."""
    rows = []
    rule = int(value(params, AMAN_YEARS))
    last_before = {i: d for i, d in zip(hh["id"], hh["last_desludged"]) if isinstance(d, date)}
    band_km = value(params, "tariff_band_distance")
    for k in range(years):
        lo, hi = date(first.year + k, first.month, 1), date(first.year + k + 1, first.month, 1)
        inside = emptyings[(emptyings["date"] >= lo) & (emptyings["date"] < hi)] if len(emptyings) else emptyings
        worked = days[(days["date"] >= lo) & (days["date"] < hi)]["share"].sum()
        period = int(lo >= medium)
        cut = date(hi.year - rule, hi.month, 1)
        upto = emptyings[emptyings["date"] < hi] if len(emptyings) else emptyings
        latest = upto.groupby("household_id")["date"].max().to_dict() if len(upto) else {}
        aman = sum(1 for i in hh["id"] if max(filter(None, (latest.get(i), last_before.get(i))), default=None)
                   and max(filter(None, (latest.get(i), last_before.get(i)))) >= cut)
        km = inside["base_minutes"].fillna(0) * value(params, "travel_speed_kmh") / 60 if len(inside) else []
        tariff = np.where(np.asarray(km) <= band_km, value(params, "tariff_band_near"), value(params, "tariff_band_far"))
        row = {"year": k + 1, "from": lo, "until": hi - timedelta(days=1), "emptyings": int(len(inside)),
               "m3": float(inside["m3"].sum()) if len(inside) else 0.0,
               "trucks": int(trucks[:, period].sum()),
               "households_enrolled": int((hh["enrol"] < hi).sum()) if "enrol" in hh else None,
               "households_aman_5y": int(aman),
               "revenue_idr": float(np.sum(tariff) * value(params, "collection_rate"))}
        for pid, name, cap in zip(plant_ids, plant_names, capacity[:, period]):
            mine = inside[inside["facility_id"] == pid] if len(inside) else inside
            daily = mine.groupby("date")["m3"].sum() if len(mine) else pd.Series(dtype=float)
            row[f"{name}: m3/day mean"] = round(float(daily.sum()) / worked, 2) if worked else 0.0
            row[f"{name}: m3/day max"] = round(float(daily.max()), 2) if len(daily) else 0.0
            row[f"{name}: capacity m3/day"] = None if not np.isfinite(cap) else round(float(cap), 2)
        rows.append(row)
    return pd.DataFrame(rows)


def _notes(result: CalendarResult, cal: Calendar, done: pd.DataFrame, last: np.ndarray) -> list[str]:
    """What the calendar could not do: households not emptied within the first interval after
    they enrol (only those whose first interval ends inside the calendar, and not those emptied
    since they enrolled, before the calendar's first day)."""
    enrol = np.array([d.toordinal() for d in result.households["enrol"]])
    first_day = np.full(len(enrol), np.iinfo(np.int64).max)
    if len(done):
        firsts = done[done["first"]]
        first_day[firsts["household"].to_numpy()] = firsts["day"].to_numpy()
    window_closes = enrol + cal.interval <= (cal.days.max() if len(cal.days) else cal.start)
    late = int((window_closes & (last < enrol) & (first_day > enrol + cal.interval)).sum())
    if not late:
        return []
    return [f"{late} households are not emptied within the first interval after they enrol: the trucks or the "
            "IPLTs cannot keep up (add trucks or treatment capacity)"]
