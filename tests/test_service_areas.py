"""Network isochrones: the drawn area covers what the reach rule reaches (walk from a reached node
with the time left, capped at the snapping distance) and overreaches by less than two cells."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.analysis import network as net
from gis_service.analysis.service_areas import isochrones, radius_areas

X0, Y0 = 700_000.0, 9_650_000.0
WALK = 4000 / 60  # metres per minute at 4 km/h
PARAMS = net.NetworkParams(speeds={"road": {"default": 60}, "path": {"default": 4},
                                   "river": {"default": 10}}, walk_speed_kmh=4.0, max_snap_m=500.0)


def _road(km: int) -> gpd.GeoDataFrame:
    lines = [shapely.LineString([(X0 + 1000 * k, Y0), (X0 + 1000 * (k + 1), Y0)])
             for k in range(km)]
    return gpd.GeoDataFrame({"id": range(km), "mode": "road", "class": "track", "speed_kmh": 60.0,
                             "oneway": False, "length_m": 1000.0}, geometry=lines, crs=32749)


def _network(seed: int, k: int = 9, spacing: float = 300.0) -> gpd.GeoDataFrame:
    """A jittered k x k grid of roads and paths, edges dropped or one-way at random, and a river
    150 m east of the middle column that meets the land at its two ends (the landings)."""
    rng = np.random.default_rng(seed)
    ix, iy = np.divmod(np.arange(k * k), k)
    xy = np.column_stack([X0 + ix * spacing, Y0 + iy * spacing]) + rng.uniform(-60, 60, (k * k, 2))
    grid = np.arange(k * k).reshape(k, k)
    a = np.concatenate([grid[:-1].ravel(), grid[:, :-1].ravel()])
    b = np.concatenate([grid[1:].ravel(), grid[:, 1:].ravel()])
    keep = rng.random(len(a)) > 0.15
    a, b = a[keep], b[keep]
    river = xy[grid[k // 2]] + (150.0, 0.0)
    river[[0, -1]] = xy[grid[k // 2][[0, -1]]]
    ends = np.concatenate([np.stack([xy[a], xy[b]], axis=1),
                           np.stack([river[:-1], river[1:]], axis=1)])
    mode = np.concatenate([np.where(rng.random(len(a)) < 0.3, "path", "road"), ["river"] * (k - 1)])
    speed = np.where(mode == "road", rng.uniform(10, 60, len(mode)), np.nan)
    return gpd.GeoDataFrame({"id": np.arange(len(mode)), "mode": mode, "class": None,
                             "speed_kmh": speed,
                             "oneway": (rng.random(len(mode)) < 0.2) & (mode != "river"),
                             "length_m": np.nan}, geometry=shapely.linestrings(ends), crs=32749)


def test_isochrone_follows_the_time_left_at_each_node():
    graph = net.build_graph(_road(10), modes={"road"}, params=PARAMS)
    (f, band, poly), = isochrones(graph, np.array([[X0, Y0]]), [9.0], params=PARAMS, cell_m=25.0)
    assert (f, band) == (0, 9.0) and poly.is_valid
    slack = 2 * np.sqrt(2) * 25.0  # two cell diagonals
    assert poly.covers(shapely.Point(708_000, Y0 + WALK))  # node 8: one minute left
    assert not poly.covers(shapely.Point(708_000, Y0 + WALK + slack + 1))
    assert poly.covers(shapely.Point(X0, Y0 + 500))  # origin: 9 minutes left, capped at 500 m
    assert not poly.covers(shapely.Point(X0, Y0 + 500 + slack + 1))
    assert not poly.covers(shapely.Point(709_000 + slack + 1, Y0))  # node 9: reached at 9.0 min


def test_radius_areas_are_discs():
    disc = radius_areas(np.array([[0.0, 0.0]]), 1000.0)[0]
    assert abs(disc.area - np.pi * 1e6) / (np.pi * 1e6) < 0.01


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cell_m=st.floats(20.0, 300.0),
       max_snap_m=st.floats(50.0, 600.0), penalty=st.floats(0.0, 15.0),
       bands=st.lists(st.floats(1.0, 40.0), min_size=1, max_size=3, unique=True))
def test_every_reached_point_is_covered_and_overreach_is_bounded(seed, cell_m, max_snap_m, penalty,
                                                                 bands):
    params = net.NetworkParams(speeds=PARAMS.speeds, walk_speed_kmh=4.0, max_snap_m=max_snap_m,
                               landing_penalty_min=penalty)
    graph = net.build_graph(_network(seed), modes={"road", "path", "river"}, params=params)
    rng = np.random.default_rng(seed)
    facilities = np.array([X0, Y0]) + rng.uniform(-200, 2600, (4, 2))
    points = np.array([X0, Y0]) + rng.uniform(-800, 3200, (3000, 2))
    drawn = {(f, b): poly for f, b, poly in isochrones(graph, facilities, bands, params=params,
                                                       cell_m=cell_m)}
    assert all(poly.is_valid for poly in drawn.values())

    reach = net.facility_to_points(graph, facilities, points, params=params, limit_min=max(bands))
    for band in bands:
        within = reach.minutes <= band + net.EPS_MIN
        for f, p in zip(reach.facility[within], reach.point[within]):
            assert drawn[(f, band)].covers(shapely.Point(points[p])), (f, band, p)

    node = net.snap_facilities(graph, facilities, params=params, layers=None)
    reached = net.travel_times(graph, node[node >= 0], limit_min=max(bands)).tocoo()
    times = np.full(reached.shape, np.inf)
    times[reached.row, reached.col] = reached.data  # stored entries, explicit zeros included
    boarding = np.where(graph.node_layer == net.RIVER, penalty, 0.0)
    gap = np.hypot(*(points[:, None, :] - graph.node_xy[None, :, :]).transpose(2, 0, 1))
    for row, f in enumerate(np.flatnonzero(node >= 0)):
        for band in bands:
            radius = np.minimum((band - times[row] - boarding) * WALK, max_snap_m)
            beyond = np.where(radius >= 0, gap - radius, np.inf).min(axis=1)
            inside = shapely.covers(drawn[(f, band)], shapely.points(points)) \
                if (f, band) in drawn else np.zeros(len(points), bool)
            assert (beyond[inside] < 2 * np.sqrt(2) * cell_m + 1e-6).all()


def test_bands_are_nested():
    graph = net.build_graph(_network(3, k=15, spacing=400.0), modes={"road", "path"},
                            params=PARAMS)
    facilities = np.array([[X0 + 2000, Y0 + 2000], [X0 + 5000, Y0 + 4000]])
    drawn = isochrones(graph, facilities, [60.0, 30.0, 15.0], params=PARAMS)
    assert [(f, b) for f, b, _ in drawn] == [(f, b) for f in (0, 1) for b in (15.0, 30.0, 60.0)]
    for f in (0, 1):
        small, middle, large = (poly for g, _, poly in drawn if g == f)
        for inner, outer in ((small, middle), (middle, large)):
            assert inner.difference(outer).area < 1e-6 * outer.area < inner.area


def test_walking_areas_get_cells_to_their_scale():
    # a 10-minute walk to a public toilet reaches 667 m at most: the default cell follows the
    # reach (here at least max_snap_m / 10 = 50 m), so the polygon stays within two diagonals
    x, y = np.meshgrid(X0 + 100.0 * np.arange(-20, 21), Y0 + 100.0 * np.arange(-20, 21))
    nodes = np.stack([x, y], axis=-1)  # paths every 100 m, split at every crossing
    segments = np.concatenate([np.stack([nodes[:, :-1], nodes[:, 1:]], axis=2).reshape(-1, 2, 2),
                               np.stack([nodes[:-1], nodes[1:]], axis=2).reshape(-1, 2, 2)])
    paths = gpd.GeoDataFrame({"id": np.arange(len(segments)), "mode": "path", "class": "footway",
                              "speed_kmh": np.nan, "oneway": False, "length_m": np.nan},
                             geometry=shapely.linestrings(segments), crs=32749)
    graph = net.build_graph(paths, modes={"path"}, params=PARAMS)
    (_, _, poly), = isochrones(graph, np.array([[X0, Y0]]), [10.0], params=PARAMS)
    assert poly.covers(shapely.Point(X0 + 300, Y0 + 300))  # 600 m along paths: 9 minutes
    assert poly.within(shapely.Point(X0, Y0).buffer(10 * WALK + 2 * np.sqrt(2) * 50.0, 64))


def test_given_travel_times_are_reused():
    graph = net.build_graph(_network(11), modes={"road", "path", "river"}, params=PARAMS)
    facilities = np.array([[X0 + 900, Y0 + 900], [X0 - 5000, Y0], [X0 + 1500, Y0 + 300]])
    node = net.snap_facilities(graph, facilities, params=PARAMS, layers=None)
    assert node.tolist()[1] == -1  # off the network: no row, no polygon
    times = net.travel_times(graph, node[node >= 0], limit_min=45.0)
    own = isochrones(graph, facilities, [20.0, 45.0], params=PARAMS)
    reused = isochrones(graph, facilities, [20.0, 45.0], params=PARAMS, times=times)
    assert [(f, b) for f, b, _ in reused] == [(0, 20.0), (0, 45.0), (2, 20.0), (2, 45.0)]
    assert all(a[:2] == b[:2] and a[2].equals_exact(b[2], 0) for a, b in zip(own, reused))
    with pytest.raises(ValueError, match="rows"):
        isochrones(graph, facilities, [20.0], params=PARAMS, times=times[:1])
