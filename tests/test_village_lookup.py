"""The village lookup of footprint centroids (``distributed.village_lookup``): its grid shortcut
gives the exact point-in-polygon answer for every point, on real outlines and on made-up ones,
at boundaries, vertices and overlaps."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.distributed import village_lookup
from gis_service.distributed.village_lookup import villages_of


def exact(xy: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """The definition: the first polygon holding the point (its boundary included), -1 none."""
    found = np.full(len(xy), -1, np.int64)
    for k, polygon in enumerate(polygons):
        hit = shapely.intersects_xy(polygon, xy[:, 0], xy[:, 1]) & (found < 0)
        found[hit] = k
    return found


def _points_on(polygons: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Points on the outlines: every vertex, and points along the edges."""
    xy, ring = shapely.get_coordinates(shapely.get_parts(shapely.boundary(polygons)), return_index=True)
    same = ring[:-1] == ring[1:]
    a, b = xy[:-1][same], xy[1:][same]
    pick = rng.integers(0, len(a), n)
    t = rng.uniform(0, 1, n)[:, None]
    return np.vstack([xy, a[pick] + (b[pick] - a[pick]) * t])


def test_real_villages_of_seruyan_match_the_exact_test(seruyan_dir):
    villages = gpd.read_file(seruyan_dir / "desa.geojson").to_crs("EPSG:32749")
    polygons = villages.geometry.to_numpy()
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = villages.total_bounds
    scattered = np.column_stack([rng.uniform(x0 - 5e3, x1 + 5e3, 60_000), rng.uniform(y0 - 5e3, y1 + 5e3, 60_000)])
    centres = shapely.get_coordinates(shapely.point_on_surface(polygons))
    xy = np.vstack([scattered, _points_on(polygons, rng, 20_000), centres])
    found = villages_of(xy, polygons)
    assert (found == exact(xy, polygons)).all()
    assert (found[-len(polygons):] == np.arange(len(polygons))).all()  # each village's own inner point
    assert 0.2 < (found[:60_000] >= 0).mean() < 0.95  # both inside and outside were asked


def test_overlaps_go_to_the_first_village_and_the_grid_is_bounded(seruyan_dir):
    villages = gpd.read_file(seruyan_dir / "desa.geojson").to_crs("EPSG:32749")
    polygons = villages.geometry.to_numpy()
    big = shapely.buffer(polygons[3], 4_000)  # overlaps its neighbours, first and last
    rng = np.random.default_rng(8)
    x0, y0, x1, y1 = shapely.bounds(big)
    xy = np.column_stack([rng.uniform(x0, x1, 40_000), rng.uniform(y0, y1, 40_000)])
    for order in ([big, *polygons], [*polygons, big]):
        order = np.array(order, dtype=object)
        assert (villages_of(xy, order) == exact(xy, order)).all()
    assert (villages_of(xy, np.array([big, *polygons], dtype=object))[shapely.intersects_xy(big, xy[:, 0], xy[:, 1])] == 0).all()


def test_the_grid_never_outgrows_its_cell_budget(monkeypatch):
    monkeypatch.setattr(village_lookup, "GRID_CELLS", 1000)
    polygons = np.array([shapely.box(0, 0, 1, 1), shapely.box(1e6, 0, 1e6 + 1, 1)], dtype=object)  # far apart
    grid = village_lookup._Grid.over(shapely.bounds(polygons))
    assert grid.shape[0] * grid.shape[1] <= 2000
    xy = np.array([[0.5, 0.5], [1e6 + 0.5, 0.5], [5e5, 0.5], [1.0, 1.0], [-1.0, 0.0]])
    assert villages_of(xy, polygons).tolist() == [0, 1, -1, 0, -1]


def test_nothing_to_look_up():
    square = np.array([shapely.box(0, 0, 1, 1)], dtype=object)
    assert villages_of(np.empty((0, 2)), square).tolist() == []
    assert villages_of(np.array([[0.5, 0.5]]), np.array([], dtype=object)).tolist() == [-1]
    empty = np.array([shapely.Polygon(), shapely.box(0, 0, 1, 1)], dtype=object)
    assert villages_of(np.array([[0.5, 0.5], [2.0, 2.0]]), empty).tolist() == [1, -1]
    assert villages_of(np.array([[0.5, 0.5]]), np.array([shapely.Polygon()], dtype=object)).tolist() == [-1]


polygon = st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(0.5, 40), st.integers(3, 9), st.floats(0, 6.3),
                    st.booleans())


@settings(max_examples=80, deadline=None)
@given(st.lists(polygon, min_size=1, max_size=12), st.integers(0, 2**32 - 1))
def test_any_polygons_match_the_exact_test(shapes, seed):
    """Star-shaped outlines of any size and overlap, some with a hole; points scattered, on
    the vertices and on the edges."""
    polygons = []
    for cx, cy, radius, vertices, turn, hole in shapes:
        angles = turn + np.linspace(0, 2 * np.pi, vertices, endpoint=False)
        radii = radius * (0.5 + 0.5 * np.cos(2 * angles) ** 2)
        shell = np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])
        inner = [np.column_stack([cx + radius / 5 * np.cos(angles), cy + radius / 5 * np.sin(angles)])] if hole else []
        polygons.append(shapely.Polygon(shell, inner))
    polygons = np.array(polygons, dtype=object)
    rng = np.random.default_rng(seed)
    xy = np.vstack([rng.uniform(-50, 150, (2_000, 2)), _points_on(polygons, rng, 500)])
    assert (villages_of(xy, polygons) == exact(xy, polygons)).all()


def test_a_collection_with_lines_or_points_without_coordinates():
    """A village stored as a collection (a polygon with a stray line) holds the points on its line
    too; a point without coordinates is in no village."""
    polygons = np.array([shapely.box(0, 0, 10, 10),
                         shapely.GeometryCollection([shapely.box(20, 0, 30, 10), shapely.LineString([(30, 0), (31, 0)])])],
                        dtype=object)
    xy = np.array([[5.0, 5.0], [15.0, 5.0], [25.0, 5.0], [30.5, 0.0], [np.nan, 5.0], [np.inf, 1.0]])
    assert villages_of(xy, polygons).tolist() == [0, -1, 1, 1, -1, -1]
    assert villages_of(xy[:3], polygons[:1]).tolist() == [0, -1, -1]
    with_nan = np.vstack([xy[:1], [[np.nan, np.nan]]])
    assert villages_of(with_nan, np.array([shapely.box(0, 0, 10, 10), shapely.GeometryCollection(
        [shapely.box(20, 0, 30, 10)])], dtype=object)).tolist() == [0, -1]


def test_tiny_villages_far_from_the_origin():
    """Cells never get finer than the coordinates' float resolution, so the boundary marks stay
    closed: two triangles a micrometre wide at a billion metres."""
    a = shapely.Polygon([(1e9, 1e9), (1e9 + 1e-6, 1e9), (1e9, 1e9 + 1e-6)])
    b = shapely.Polygon([(1e9 + 1e-6, 1e9), (1e9 + 1e-6, 1e9 + 1e-6), (1e9, 1e9 + 1e-6)])
    polygons = np.array([a, b], dtype=object)
    g = np.linspace(1e9 - 1e-7, 1e9 + 1.1e-6, 40)
    xy = np.column_stack([np.repeat(g, 40), np.tile(g, 40)])
    assert (villages_of(xy, polygons) == exact(xy, polygons)).all()
