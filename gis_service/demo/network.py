"""The demo network: the river split at its landings, two roads and village paths."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Polygon

from gis_service.demo.facts import DISTRICTS
from gis_service.demo.geometry import cumulative_length, point_at, resample, smooth, to_metric
from gis_service.demo.land import BAND_LATS, SEGMENT_M, Land


@dataclass(frozen=True)
class Network:
    edges: pd.DataFrame  # mode, class, name, xy (metric coordinates)
    on_road: np.ndarray  # per settlement: reached by a road
    landing: dict[int, np.ndarray]  # village index -> its landing on the river
    iplt: np.ndarray  # pilot IPLT site
    iplt_upstream: np.ndarray  # candidate IPLT site near the end of the main road
    road_end: int  # settlement where the main road ends


def make_network(land: Land, villages: pd.DataFrame, settlements: pd.DataFrame,
             rng: np.random.Generator) -> Network:
    """River split at the village landings; a main road from the capital up the west bank to
    about half-way and an east road to two district seats, with tracks to the villages near
    them; footways from every other settlement to the nearest landing or road node. All edges
    meet at shared end points."""
    river = land.river
    edges: list[tuple[str, str, str | None, np.ndarray]] = []
    main = settlements.groupby("village").head(1)
    riverside = main[(villages.river_idx >= 0).to_numpy()[main.village]]
    cum = cumulative_length(river.xy)
    at = merge_cuts(shapely.line_locate_point(
        river.line, shapely.points(riverside[["x", "y"]].to_numpy())), 300.0, cum[-1])
    landing_xy = point_at(river.xy, cum, at)
    landing = dict(zip(riverside.village, landing_xy, strict=True))
    for piece in split_at(river.xy, at):
        edges.append(("river", "river", "Sungai Seruyan", piece))

    node = settlements[["x", "y"]].to_numpy().copy()
    on_road = np.zeros(len(settlements), dtype=bool)
    side = villages.side.to_numpy()[settlements.village]
    main_road, road_end = trace_main_road(land, villages, settlements, rng)
    east_road = trace_east_road(land, villages, settlements, rng)
    sites = [iplt_site(main_road, land.outline, settlements, True),
             iplt_site(main_road, land.outline, settlements, False)]
    for road, name, reach, branch_side in (
            (main_road, "Jalan Poros Seruyan (ilustrasi)", 10_000.0, -1),
            (east_road, "Jalan Lingkar Timur (ilustrasi)", 8_000.0, 1)):
        near = shapely.distance(shapely.points(node), LineString(road)) <= reach
        chosen = np.flatnonzero(near & (side == branch_side))
        extra = np.array(sites) if road is main_road else np.empty((0, 2))
        pieces, branches, ends = attach(road, np.vstack([node[chosen], extra]), 150.0)
        primary = road is main_road
        for piece, mid in pieces:
            edges.append(("road", "primary" if primary and mid < 0.6 else "secondary", name, piece))
        edges += [("road", "track", None, b) for b in branches]
        node[chosen] = ends[:len(chosen)]
        on_road[chosen] = True

    connected = on_road.copy()
    for s in riverside.index:
        edges.append(("path", "footway", None, np.vstack([node[s], landing[riverside.village[s]]])))
        connected[s] = True
    targets = np.vstack([landing_xy, *(e[3][[0, -1]] for e in edges if e[0] == "road")])
    for s in np.flatnonzero(~connected):
        t = targets[np.argmin(np.hypot(*(targets - node[s]).T))]
        edges.append(("path", "footway", None, np.vstack([node[s], t])))
    frame = pd.DataFrame(edges, columns=["mode", "class", "name", "xy"])
    return Network(frame, on_road, landing, sites[0], sites[1], road_end)


def merge_cuts(d: np.ndarray, tol: float, length: float) -> np.ndarray:
    """Snap positions along a line that lie within ``tol`` of each other (or of an end) together,
    so that nearby villages share a landing or junction instead of making sliver edges."""
    rep, anchor = np.empty_like(d, dtype=float), -np.inf
    for i in np.argsort(d, kind="stable"):
        if d[i] - anchor > tol:
            anchor = d[i]
        rep[i] = anchor
    rep[rep <= tol] = 0.0
    rep[rep >= length - tol] = length
    return rep


def split_at(xy: np.ndarray, at: np.ndarray) -> list[np.ndarray]:
    """Cut a polyline at distances ``at`` (ends excluded); pieces share their cut points."""
    cum = cumulative_length(xy)
    bounds = np.unique(np.r_[0.0, at[(at > 0) & (at < cum[-1])], cum[-1]])
    ends = point_at(xy, cum, bounds)
    return [np.vstack([ends[i], xy[(cum > a) & (cum < b)], ends[i + 1]])
            for i, (a, b) in enumerate(pairwise(bounds))]


def attach(road: np.ndarray, targets: np.ndarray, tol: float
            ) -> tuple[list[tuple[np.ndarray, float]], list[np.ndarray], np.ndarray]:
    """Split a road where tracks leave it to the targets. Returns its pieces (with their middle
    as a fraction of the road), the tracks, and each target's node (its junction when it lies on
    the road itself)."""
    cum = cumulative_length(road)
    at = merge_cuts(shapely.line_locate_point(LineString(road), shapely.points(targets)), tol,
                     cum[-1])
    junction = point_at(road, cum, at)
    gap = np.hypot(*(targets - junction).T)
    bounds = np.unique(np.r_[0.0, at, cum[-1]])
    pieces = list(zip(split_at(road, at), (bounds[:-1] + bounds[1:]) / 2 / cum[-1], strict=True))
    branches = [np.vstack([j, t]) for j, t, g in zip(junction, targets, gap, strict=True)
                if g >= 1.0]
    return pieces, branches, np.where((gap >= 1.0)[:, None], targets, junction)


def trace_main_road(land: Land, villages: pd.DataFrame, settlements: pd.DataFrame,
               rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """From the capital north along the west bank, 3-6 km off the river, to a village about
    half-way up (the border between bands 2 and 3). Returns the line and its end settlement."""
    river = land.river
    y_half = to_metric([(112.2, BAND_LATS[2])])[0, 1]
    upper = np.flatnonzero(river.valley[:, 1] >= y_half)[-1]
    idx = np.arange(len(river.valley) - 30, upper, -30)
    offset = rng.uniform(3_200.0, 5_700.0, len(idx))
    way = river.valley[idx] - offset[:, None] * river.normal[idx]
    main = settlements.groupby("village").head(1)
    west = main[((villages.side < 0) & (villages.band == 2)).to_numpy()[main.village]]
    end = west.index[np.argmin(np.hypot(west.x - way[-1, 0], west.y - way[-1, 1]))]
    capital = settlements.loc[settlements.village == 0, ["x", "y"]].to_numpy()[0]
    line = np.vstack([capital, way, settlements.loc[end, ["x", "y"]].to_numpy(float)])
    return smooth(resample(line, SEGMENT_M), 3.0), int(end)


def trace_east_road(land: Land, villages: pd.DataFrame, settlements: pd.DataFrame,
               rng: np.random.Generator) -> np.ndarray:
    """From the capital across the river to the seats of Seruyan Hilir Timur and Seruyan Raya."""
    seats = [villages.index[villages.seat & (villages.district == k)][0]
             for k, d in enumerate(DISTRICTS) if d.code in ("62.07.06", "62.07.07")]
    first = settlements.groupby("village").head(1).set_index("village")
    stops = [land.capital, *first.loc[seats, ["x", "y"]].to_numpy(float)]
    points = [stops[0]]
    for a, b in pairwise(stops):
        normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.hypot(*(b - a))
        points += [(a + b) / 2 + rng.uniform(-2_000.0, 2_000.0) * normal, b]
    return smooth(resample(np.array(points), SEGMENT_M), 3.0)


def iplt_site(road: np.ndarray, outline: Polygon, settlements: pd.DataFrame,
               from_capital: bool) -> np.ndarray:
    """The first spot beside the main road, on the side away from the river, at least 2.3 km
    from every settlement (docs/domain.md §4: >= 2 km from settlements, road access). Scans up from the
    capital for the pilot plant and down from the road's end for the upstream candidate."""
    cum = cumulative_length(road)
    at = np.arange(5_000.0, 40_000.0, 500.0) if from_capital else cum[-1] - np.arange(
        3_000.0, 40_000.0, 500.0)
    tangent = point_at(road, cum, at + 10.0) - point_at(road, cum, at - 10.0)
    away = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.hypot(*tangent.T)[:, None]
    away *= np.where(away[:, :1] > 0, -1.0, 1.0)  # west, away from the river
    offsets = np.array([400.0, 800.0, 1_200.0, 1_600.0])
    candidates = (point_at(road, cum, at)[:, None, :] + offsets[None, :, None] * away[:, None, :])
    candidates = candidates.reshape(-1, 2)
    clear = shapely.distance(shapely.points(candidates),
                             shapely.union_all(settlements.geometry.to_numpy())) >= 2_300.0
    ok = clear & shapely.contains_xy(shapely.buffer(outline, -1_000.0), *candidates.T)
    if not ok.any():
        raise RuntimeError("no IPLT site clear of the settlements along the main road")
    return candidates[np.flatnonzero(ok)[0]]
