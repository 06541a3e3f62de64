"""Network isochrones: the drawn area matches the reach rule (walk from a reached node with the
time left, capped at the snapping distance)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gis_service.analysis import network as net
from gis_service.analysis.service_areas import isochrones, radius_areas


def _road(km: int) -> gpd.GeoDataFrame:
    x0, y = 700_000.0, 9_650_000.0
    lines = [shapely.LineString([(x0 + 1000 * k, y), (x0 + 1000 * (k + 1), y)]) for k in range(km)]
    return gpd.GeoDataFrame({"id": range(km), "mode": "road", "class": "track", "speed_kmh": 60.0,
                             "oneway": False, "length_m": 1000.0}, geometry=lines, crs=32749)


def test_isochrone_follows_the_time_left_at_each_node():
    params = net.NetworkParams(speeds={"road": {"default": 60}}, walk_speed_kmh=4.0, max_snap_m=500.0)
    graph = net.build_graph(_road(10), modes={"road"}, params=params)
    (f, band, poly), = isochrones(graph, np.array([[700_000.0, 9_650_000.0]]), [9.0], params=params)
    assert (f, band) == (0, 9.0)
    y = 9_650_000.0
    walk = 4000 / 60  # metres per minute
    assert poly.contains(shapely.Point(708_000, y + 0.9 * walk))  # node 8: one minute left
    assert not poly.contains(shapely.Point(708_000, y + 1.1 * walk))
    assert poly.contains(shapely.Point(700_000, y + 490))  # origin: 9 minutes left, capped at 500 m
    assert not poly.contains(shapely.Point(700_000, y + 510))
    assert not poly.contains(shapely.Point(709_200, y))  # node 9 is reached at exactly 9 min


def test_radius_areas_are_discs():
    disc = radius_areas(np.array([[0.0, 0.0]]), 1000.0)[0]
    assert abs(disc.area - np.pi * 1e6) / (np.pi * 1e6) < 0.01


def test_large_isochrones_are_approximated_by_a_grown_hull(monkeypatch):
    from gis_service.analysis import service_areas

    monkeypatch.setattr(service_areas, "MAX_EXACT_NODES", 3)
    params = net.NetworkParams(speeds={"road": {"default": 60}}, walk_speed_kmh=4.0, max_snap_m=500.0)
    graph = net.build_graph(_road(10), modes={"road"}, params=params)
    (_, _, poly), = isochrones(graph, np.array([[700_000.0, 9_650_000.0]]), [9.0], params=params)
    assert poly.is_valid and poly.contains(shapely.Point(704_000, 9_650_000))
