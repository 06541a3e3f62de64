"""The desludging scheduler on its own (no database): a hand-made case with known dates, and an
independent checker of every calendar rule run on random small instances."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.analysis.rollout.schedule import (
    Bases,
    Calendar,
    Households,
    Plants,
    schedule,
    trucks_needed,
)


D0 = 1000  # day numbers are positive, like date.toordinal; D0 is a Monday here


def calendar(days: int, *, interval: int, keep_aman: int, m3: float = 2.5, medium_at: int | None = None,
             saturday_share: float = 0.5, advance: int = 0) -> Calendar:
    """Working days from day D0 (a Monday): Monday-Friday full, Saturday a share, Sunday off."""
    numbers = D0 + np.arange(days)
    weekday = (numbers - D0) % 7
    share = np.where(weekday < 5, 1.0, np.where(weekday == 5, saturday_share, 0.0))
    return Calendar(start=D0, medium_start=D0 + (days if medium_at is None else medium_at), days=numbers, share=share,
                    interval=interval, m3=m3, keep_aman=keep_aman, advance=advance)


def check(frame: pd.DataFrame, h: Households, bases: Bases, plants: Plants, cal: Calendar) -> dict:
    """Every rule of the calendar, checked from its rows alone; returns what it counted."""
    share = dict(zip(cal.days, cal.share))
    assert all(share[d] > 0 for d in frame["day"]), "an emptying on a day off"
    period = (frame["day"].to_numpy() >= cal.medium_start).astype(int)
    # each household only at a base it belongs to in that period, never before it enrols
    assert (h.base[frame["household"].to_numpy(), period] == frame["base"].to_numpy()).all()
    assert (frame["day"].to_numpy() >= h.enrol[frame["household"].to_numpy()]).all()
    # at most once per interval; never before the rhythm of an emptying before the calendar
    for i, days in frame.groupby("household")["day"]:
        d = np.sort(days.to_numpy())
        assert (np.diff(d) >= cal.interval).all(), f"household {i} emptied twice within an interval"
        if h.last[i] >= 0 and h.last[i] + cal.interval >= h.enrol[i]:
            assert d[0] >= h.last[i] + cal.interval, f"household {i} emptied before its interval ran out"
    # trucks: whole trips only, at most the base's trucks
    for (day, b), part in frame.groupby(["day", "base"]):
        per_truck = int(np.floor(bases.trips_per_day[b] * share[day] + 1e-9)) * bases.per_trip
        assert part.groupby("truck").size().max() <= per_truck
        assert part["truck"].max() <= bases.trucks[b, int(day >= cal.medium_start)]
    # plants: a day's intake within capacity x the day's share
    for (day, p), part in frame.groupby(["day", "plant"]):
        assert part["m3"].sum() <= plants.capacity[p, int(day >= cal.medium_start)] * share[day] + 1e-9
    # the first emptying within the first interval after enrolment (where that interval has ended;
    # a household emptied since it enrolled, before the calendar, is already in its next cycle)
    first = frame[frame["first"]].set_index("household")["day"]
    closes = h.enrol + cal.interval
    ended = np.flatnonzero((closes <= cal.days.max()) & (h.last < h.enrol))
    late = [i for i in ended if i not in first.index or first[i] > closes[i]]
    return {"late": late, "emptyings": len(frame)}


def test_two_households_one_truck_by_hand():
    # one base that is its own plant; one truck, 1 trip a day, 1 tank a trip; interval 10 days.
    # household 0 was emptied on day -3: its rhythm makes it due on day 7. household 1 was never
    # emptied: backlog, target day 0. Days 5 and 6 are Saturday (half: no whole trip) and Sunday.
    h = Households(id=np.array(["a", "b"]), base=np.zeros((2, 2), np.int64), zone=np.zeros((2, 2), np.int64),
                   enrol=np.full(2, D0), last=np.array([D0 - 3, -1]), priority=np.zeros(2),
                   to_plant=np.zeros((2, 1)))
    bases = Bases(["IPLT"], np.ones((1, 2), np.int64), np.array([1.0]), 1, np.array([0]))
    plants = Plants(["IPLT"], np.full((1, 2), 5.0))
    cal = calendar(30, interval=10, keep_aman=20)
    frame = schedule(h, bases, plants, cal)
    got = {(int(r.household), int(r.day) - D0) for r in frame.itertuples()}
    # b on day 0, then due 10 and 20 (a Sunday: so Monday 21); a on Monday 7, then due 17, then
    # due 27 (a Sunday: so 28). Saturdays (5, 12, ...) have half a trip: none whole, no emptying
    assert got == {(1, 0), (0, 7), (1, 10), (0, 17), (1, 21), (0, 28)}
    one_trip = replace(bases, trips_per_day=np.array([2.0]))  # Saturday: one whole trip
    moved = schedule(replace(h, last=np.array([D0 - 5, -1])), one_trip, plants, cal)  # a due on Saturday 5
    assert (int(moved["day"].iat[1]) - D0, int(moved["household"].iat[1])) == (5, 0)
    assert check(frame, h, bases, plants, cal)["late"] == []


def test_a_full_plant_makes_the_trucks_wait_and_the_late_are_counted():
    # four backlog households enrolled on day 0, interval 2 days; a plant taking one tank a day,
    # three trucks: one emptying a day; backlog targets 0, 0, 1, 1, so the fourth is late (day 3 > 2)
    h = Households(id=np.array(["a", "b", "c", "d"]), base=np.zeros((4, 2), np.int64), zone=np.zeros((4, 2), np.int64),
                   enrol=np.full(4, D0), last=np.full(4, -1), priority=np.zeros(4), to_plant=np.zeros((4, 1)))
    bases = Bases(["depot"], np.full((1, 2), 3, np.int64), np.array([2.0]), 1, np.array([-1]))
    plants = Plants(["IPLT"], np.full((1, 2), 2.5))
    cal = calendar(4, interval=2, keep_aman=4)
    frame = schedule(h, bases, plants, cal)
    assert (frame["day"] - D0).tolist() == [0, 1, 2, 3]  # one tank a day, whatever the trucks
    assert frame["household"].tolist() == [0, 1, 2, 3]
    assert check(frame, h, bases, plants, cal)["late"] == [3]


def test_a_household_emptied_after_it_enrolled_keeps_its_rhythm_and_is_not_late():
    # enrolled on day 0 and emptied on day 40 (the survey came after the calendar's first day):
    # next due on 40 + 100, deadline 40 + 200 (the aman rule), not 0 + 100
    h = Households(id=np.array(["a"]), base=np.zeros((1, 2), np.int64), zone=np.zeros((1, 2), np.int64),
                   enrol=np.full(1, D0), last=np.array([D0 + 40]), priority=np.zeros(1), to_plant=np.zeros((1, 1)))
    bases = Bases(["IPLT"], np.ones((1, 2), np.int64), np.array([1.0]), 1, np.array([0]))
    plants = Plants(["IPLT"], np.full((1, 2), 5.0))
    cal = calendar(300, interval=100, keep_aman=200)
    frame = schedule(h, bases, plants, cal)
    assert (int(frame["day"].iat[0]) - D0) == 140  # a Monday
    assert check(frame, h, bases, plants, cal)["late"] == []


@st.composite
def instances(draw):
    n, n_bases, n_plants = draw(st.integers(1, 25)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    interval = draw(st.integers(7, 40))
    days = draw(st.integers(interval, 3 * interval))
    medium = draw(st.integers(0, days))
    base = np.array(draw(st.lists(st.lists(st.integers(-1, n_bases - 1), min_size=2, max_size=2),
                                  min_size=n, max_size=n)), dtype=np.int64)
    enrol = np.where(base[:, 0] >= 0, D0, D0 + medium)
    base[:, 1] = np.where(base[:, 1] >= 0, base[:, 1], base[:, 0])
    last = D0 + np.array(draw(st.lists(st.integers(-60, 20), min_size=n, max_size=n)))  # some after the start
    last = np.where(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))), last, -1)
    h = Households(id=np.array([f"h{i}" for i in range(n)]), base=base,
                   zone=np.array(draw(st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=2),
                                               min_size=n, max_size=n)), dtype=np.int64),
                   enrol=enrol.astype(np.int64), last=last, priority=np.arange(n, dtype=float),
                   to_plant=np.array(draw(st.lists(st.lists(st.floats(1, 100), min_size=n_plants, max_size=n_plants),
                                                   min_size=n, max_size=n))))
    bases = Bases([f"b{i}" for i in range(n_bases)],
                  np.array(draw(st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=2),
                                         min_size=n_bases, max_size=n_bases)), dtype=np.int64),
                  np.array(draw(st.lists(st.sampled_from([1.0, 1.5, 2.0, 3.0]), min_size=n_bases, max_size=n_bases))),
                  draw(st.integers(1, 2)),
                  np.array(draw(st.lists(st.integers(-1, n_plants - 1), min_size=n_bases, max_size=n_bases))))
    plants = Plants([f"p{i}" for i in range(n_plants)],
                    np.array(draw(st.lists(st.lists(st.sampled_from([0.0, 2.5, 5.0, 10.0, np.inf]), min_size=2,
                                                    max_size=2), min_size=n_plants, max_size=n_plants))))
    return h, bases, plants, calendar(days, interval=interval, keep_aman=2 * interval, medium_at=medium,
                                      advance=draw(st.integers(0, interval)))


@settings(max_examples=150, deadline=None)
@given(instances())
def test_every_rule_holds_on_random_instances(case):
    h, bases, plants, cal = case
    frame = schedule(h, bases, plants, cal)
    check(frame, h, bases, plants, cal)


def test_ample_trucks_and_plants_leave_nobody_late():
    rng = np.random.default_rng(7)
    n = 300
    h = Households(id=np.array([f"h{i:03d}" for i in range(n)]), base=np.repeat(rng.integers(0, 2, (n, 1)), 2, axis=1),
                   zone=rng.integers(0, 4, (n, 2)), enrol=np.full(n, D0),
                   last=np.where(rng.random(n) < 0.4, D0 - rng.integers(1, 200, n), -1), priority=rng.random(n),
                   to_plant=rng.uniform(5, 60, (n, 1)))
    cal = calendar(3 * 365, interval=365, keep_aman=2 * 365, advance=30)
    per_year = float(np.floor(2.0 * cal.share).sum()) / 3
    trucks = trucks_needed(n, 2.0, 1, 1.0, cal.share, 3)
    assert trucks == int(np.ceil(n / per_year))
    bases = Bases(["a", "b"], np.full((2, 2), trucks, np.int64), np.array([2.0, 2.0]), 1, np.array([0, -1]))
    frame = schedule(h, bases, Plants(["IPLT"], np.full((1, 2), np.inf)), cal)
    report = check(frame, h, bases, Plants(["IPLT"], np.full((1, 2), np.inf)), cal)
    assert report["late"] == []
    assert frame["household"].nunique() == n
    # the backlog is spread over the first interval: no quarter of year 1 takes more than 40 % of it
    firsts = frame[frame["first"]]
    quarters = np.bincount(np.minimum((firsts["day"].to_numpy() - D0) // 92, 3), minlength=4)
    assert quarters.max() <= 0.4 * n


# --- routes of trips with several tanks ---------------------------------------------------------


def brute_force_route(cost: np.ndarray) -> float:
    import itertools

    k = len(cost) - 2
    best = np.inf
    for order in itertools.permutations(range(1, k + 1)):
        path = [0, *order, k + 1]
        best = min(best, sum(cost[a, b] for a, b in zip(path[:-1], path[1:])))
    return float(best)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 10_000))
def test_best_order_is_the_shortest_route(k, seed):
    from gis_service.analysis.rollout.routes import best_order

    rng = np.random.default_rng(seed)
    cost = rng.uniform(1, 60, (k + 2, k + 2))
    np.fill_diagonal(cost, 0)
    order, minutes = best_order(cost)
    assert sorted(order) == list(range(1, k + 1))
    assert minutes == pytest.approx(brute_force_route(cost))


def test_many_stops_fall_back_to_a_route_no_worse_than_nearest_neighbour():
    from gis_service.analysis.rollout.routes import _length, _nearest_neighbour, best_order

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10, (12, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    order, minutes = best_order(cost)  # 10 stops: nearest neighbour + 2-opt
    assert sorted(order) == list(range(1, 11))
    assert minutes <= _length(cost, _nearest_neighbour(cost, list(range(1, 11)))) + 1e-9


def test_closed_tours_match_or_beat_pgrouting_pgr_tsp(pg_cluster):
    """A trip from an IPLT that is its own base is a closed tour: our order against pgRouting's
    pgr_TSP on the same symmetric minutes (pgr_TSP approximates; ours is exact for few stops)."""
    from sqlalchemy import create_engine, text

    from gis_service.analysis.rollout.routes import best_order
    from tests.helpers import create_database, drop_database

    name, url = create_database(pg_cluster, prefix="tsp")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for seed in range(8):
                rng = np.random.default_rng(seed)
                k = int(rng.integers(2, 6))
                xy = rng.uniform(0, 30, (k + 1, 2))
                minutes = np.round(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)), 3)
                closed = np.vstack([np.hstack([minutes, minutes[:, :1]]), np.r_[minutes[0], 0.0]])
                _, ours = best_order(closed)  # start 0, stops 1..k, end = the start again
                cells = ", ".join(f"({a + 1}, {b + 1}, {minutes[a, b]})" for a in range(k + 1)
                                  for b in range(k + 1) if a != b)
                tour = conn.execute(text(
                    f"SELECT max(agg_cost) FROM pgr_TSP($$SELECT * FROM (VALUES {cells}) AS t(start_vid, end_vid, "
                    "agg_cost)$$, start_id => 1)")).scalar()
                assert ours <= float(tour) + 1e-6, (seed, ours, tour)
                assert ours == pytest.approx(brute_force_route(closed))
    finally:
        engine.dispose()
        drop_database(pg_cluster, name)
